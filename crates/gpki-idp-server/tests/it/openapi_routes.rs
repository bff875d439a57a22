//! The OpenAPI documents tell the truth: every admin route (with the scopes it accepts) and
//! every JSON route of the login pages is documented, and nothing documented is missing from
//! the router.

use std::collections::BTreeSet;

use gpki_idp_server::http::admin::ROUTES;
use gpki_idp_server::http::{Kind, SCHOOL_ROUTES};
use serde_norway::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/").to_string() + name;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap()
}

/// (method, path) → x-scopes of every operation of a document.
fn operations(doc: &Value) -> Vec<(String, String, BTreeSet<String>)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                let scopes = op
                    .get("x-scopes")
                    .and_then(Value::as_sequence)
                    .map(|s| s.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                ops.push((
                    method.to_string(),
                    path.as_str().unwrap().to_string(),
                    scopes,
                ));
            }
        }
    }
    ops
}

#[test]
fn the_admin_document_matches_the_admin_routes_and_their_scopes() {
    let doc = document("admin-api.yaml");
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let documented: BTreeSet<(String, String, BTreeSet<String>)> =
        operations(&doc).into_iter().collect();
    let routed: BTreeSet<(String, String, BTreeSet<String>)> = ROUTES
        .iter()
        .map(|r| {
            let scopes = r.scopes.iter().map(|s| s.to_string()).collect();
            (r.method.to_string(), r.path.to_string(), scopes)
        })
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes not (or differently) documented: {missing:#?}"
    );
    assert!(extra.is_empty(), "documented but not routed: {extra:#?}");
}

#[test]
fn the_login_document_matches_the_json_routes_of_the_pages() {
    let doc = document("login-api.yaml");
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let routed: BTreeSet<(String, String)> = SCHOOL_ROUTES
        .iter()
        .filter(|r| r.kind == Kind::Json)
        .map(|r| {
            (
                r.method.to_string(),
                format!("/schools/{{school}}{}", r.path),
            )
        })
        .collect();
    assert_eq!(routed, documented);
}
