//! Browser sessions (ended with their refresh tokens), the audit log's search, and the
//! signing keys as a GM sees them.

use gpki_idp_server::demo;
use reqwest::Method;
use serde_json::{json, Value};

use super::code_flow;
use crate::support::admin::call;
use crate::support::TestServer;

pub(super) fn sessions_end_with_their_tokens(server: &TestServer, gm: &str) {
    let (b, tokens) = code_flow(
        server,
        demo::CLIENT_ID,
        demo::CLIENT_SECRET,
        "openid offline_access",
        "teacher",
    );
    let listed = call(
        server,
        Method::GET,
        "/schools/demo/sessions?username=teacher",
        Some(gm),
        None,
    );
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.body);
    assert_eq!(items[0]["acr"], "urn:gpki-idp:acr:password");
    let path = format!(
        "/schools/demo/sessions/{}",
        items[0]["id"].as_str().unwrap()
    );
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        204
    );
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        204,
        "ending it twice is harmless"
    );
    let (refreshed, _) = server
        .portal()
        .refresh(tokens["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed, 400, "the session's refresh tokens end with it");
    assert_eq!(
        server.portal().authorize(&b, &[]).status().as_u16(),
        200,
        "the browser must log in again"
    );
    let after = call(
        server,
        Method::GET,
        "/schools/demo/sessions?username=teacher",
        Some(gm),
        None,
    );
    assert_eq!(after.body["items"], json!([]));
}

pub(super) fn audit_search(server: &TestServer, gm: &str) {
    let created = call(
        server,
        Method::GET,
        // The demo school's own accounts were made by the operator (`cli`) at the start.
        "/schools/demo/audit?event=user.create&actor=client:gm-service",
        Some(gm),
        None,
    );
    let item = &created.body["items"][0];
    assert_eq!(item["actor"], "client:gm-service");
    assert_eq!(item["detail"]["before"], Value::Null);
    assert_eq!(item["detail"]["after"]["username"], "lib1");
    let policy = call(
        server,
        Method::GET,
        "/schools/demo/audit?event=policy.set&limit=1",
        Some(gm),
        None,
    );
    assert!(policy.body["items"][0]["detail"]["before"].is_object());
    let logins = call(
        server,
        Method::GET,
        "/schools/demo/audit?user=teacher&event=login.password",
        Some(gm),
        None,
    );
    assert!(!logins.body["items"].as_array().unwrap().is_empty());
    let page = call(
        server,
        Method::GET,
        "/schools/demo/audit?limit=2",
        Some(gm),
        None,
    );
    let next = page.body["next_cursor"].as_str().unwrap();
    let page2 = call(
        server,
        Method::GET,
        &format!("/schools/demo/audit?limit=2&cursor={next}"),
        Some(gm),
        None,
    );
    assert!(page2.body["items"][0]["id"].as_i64() > page.body["items"][1]["id"].as_i64());
    let future = call(
        server,
        Method::GET,
        "/schools/demo/audit?since=99999999999",
        Some(gm),
        None,
    );
    assert_eq!(future.body["items"], json!([]));
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/audit?since=yesterday",
            Some(gm),
            None
        )
        .status,
        400
    );
    let text = call(
        server,
        Method::GET,
        "/schools/demo/audit?limit=500",
        Some(gm),
        None,
    )
    .body
    .to_string();
    for secret in ["long-enough-1", demo::PASSWORD] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
}

/// The keys a GM sees; rotating them is for district operators.
pub(super) fn keys_are_listed_and_rotated_by_the_district(server: &TestServer, gm: &str) {
    let keys = call(server, Method::GET, "/schools/demo/keys", Some(gm), None);
    assert_eq!(keys.status, 200);
    assert!(keys.body["items"].as_array().unwrap().len() >= 2);
    let rotate = call(
        server,
        Method::POST,
        "/schools/demo/keys/rotate",
        Some(gm),
        Some(json!({"alg": "RS256"})),
    );
    assert_eq!(rotate.status, 403, "key rotation is for district operators");
}
