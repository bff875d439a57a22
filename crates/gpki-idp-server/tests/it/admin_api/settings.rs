//! The school's login policy (with ETags) and its registration rules.

use reqwest::Method;
use serde_json::json;

use crate::support::admin::{call, put_if_match};
use crate::support::TestServer;

pub(super) fn policy_with_etags(server: &TestServer, gm: &str) {
    let got = call(server, Method::GET, "/schools/demo/policy", Some(gm), None);
    assert_eq!(got.status, 200);
    let tag = got.body["etag"].as_str().unwrap().to_string();
    assert_eq!(got.headers["etag"].to_str().unwrap(), tag);
    assert_eq!(
        got.body["method_acr"]["certificate"],
        "urn:gpki-idp:acr:certificate"
    );
    let new =
        json!({"roles": [{"role": "staff", "methods": ["certificate", "password+certificate"]}]});
    let stale = put_if_match(server, "/schools/demo/policy", gm, new.clone(), "\"stale\"");
    assert_eq!(stale.status, 412);
    let put = put_if_match(server, "/schools/demo/policy", gm, new, &tag);
    assert_eq!(put.status, 200, "{}", put.body);
    assert_ne!(put.body["etag"], tag);
    assert_eq!(put.body["roles"][0]["methods"][1], "password+certificate");
    let again = put_if_match(
        server,
        "/schools/demo/policy",
        gm,
        json!({"roles": []}),
        &tag,
    );
    assert_eq!(again.status, 412, "the old tag no longer matches");
    for bad in [
        json!({"roles": [{"role": "wizard", "methods": ["password"]}]}),
        json!({"roles": [{"role": "staff", "methods": []}]}),
        json!({"roles": [{"role": "staff", "methods": ["telepathy"]}]}),
        json!({"roles": [], "extra": true}),
    ] {
        let a = call(
            server,
            Method::PUT,
            "/schools/demo/policy",
            Some(gm),
            Some(bad.clone()),
        );
        assert_eq!(a.status, 400, "{bad}");
    }
    let reg = call(
        server,
        Method::PUT,
        "/schools/demo/registration",
        Some(gm),
        Some(json!({"campus_cidrs": ["10.1.0.0/16"], "require_enrollment_code": true})),
    );
    assert_eq!(reg.status, 200);
    let bad = call(
        server,
        Method::PUT,
        "/schools/demo/registration",
        Some(gm),
        Some(json!({"campus_cidrs": ["10.1.0.0/33"], "require_enrollment_code": true})),
    );
    assert_eq!(bad.status, 400);
    call(
        server,
        Method::PUT,
        "/schools/demo/registration",
        Some(gm),
        Some(json!({"campus_cidrs": [], "require_enrollment_code": false})),
    );
}
