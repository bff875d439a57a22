//! Clients: create, replace with If-Match, rotate the secret, delete; what a service client
//! with `admin:users` may and may not do.

use reqwest::Method;
use serde_json::json;

use super::users::import;
use crate::support::admin::{call, client_token, put_if_match};
use crate::support::TestServer;

pub(super) fn clients_with_secrets(server: &TestServer, gm: &str) {
    let input = json!({"client_id": "sync", "name": "校務同步", "redirect_uris": [], "grant_types": ["client_credentials"], "allowed_scopes": ["admin:users"]});
    let created = call(
        server,
        Method::POST,
        "/schools/demo/clients",
        Some(gm),
        Some(input.clone()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let first = created.body["client_secret"].as_str().unwrap().to_string();
    let tag = created.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(input.clone())
        )
        .status,
        409
    );
    // The service client gets only what it was granted, and uses it.
    let (status, body) = client_token(server, "demo", "sync", &first, "admin:users");
    assert_eq!(status, 200, "{body}");
    let sync = body["access_token"].as_str().unwrap();
    assert_eq!(
        call(server, Method::GET, "/schools/demo/users", Some(sync), None).status,
        200
    );
    // admin:users cannot make a GM, nor touch one: that would be a way to the admin scope.
    let gm_again = json!({"username": "gm2", "display_name": "x", "roles": ["admin"], "password": "long-enough-2"});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users",
            Some(sync),
            Some(gm_again)
        )
        .status,
        403
    );
    let reset = json!({"password": "taken-over-1"});
    assert_eq!(
        call(
            server,
            Method::PATCH,
            "/schools/demo/users/gm",
            Some(sync),
            Some(reset)
        )
        .status,
        403
    );
    let promote = json!({"roles": ["teacher", "admin"]});
    assert_eq!(
        call(
            server,
            Method::PATCH,
            "/schools/demo/users/new1",
            Some(sync),
            Some(promote)
        )
        .status,
        403
    );
    let csv = "username,display_name,roles\ngm,陳校長,teacher\n";
    let report = import(server, sync, csv, false);
    assert_eq!(
        report.body["rows"][0]["error"],
        "admin_role_needs_admin_scope"
    );
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/clients",
            Some(sync),
            None
        )
        .status,
        403
    );
    assert_eq!(
        client_token(server, "demo", "sync", &first, "admin").0,
        400,
        "not granted"
    );

    let mut changed = input.clone();
    changed["name"] = json!("校務同步（新）");
    let stale = put_if_match(
        server,
        "/schools/demo/clients/sync",
        gm,
        changed.clone(),
        "\"old\"",
    );
    assert_eq!(stale.status, 412);
    let put = put_if_match(server, "/schools/demo/clients/sync", gm, changed, &tag);
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"], "校務同步（新）");

    let rotated = call(
        server,
        Method::POST,
        "/schools/demo/clients/sync/secret",
        Some(gm),
        None,
    );
    let second = rotated.body["client_secret"].as_str().unwrap();
    assert_eq!(
        client_token(server, "demo", "sync", &first, "").0,
        401,
        "the old secret stops"
    );
    assert_eq!(client_token(server, "demo", "sync", second, "").0, 200);
    let bad = json!({"name": "x", "redirect_uris": ["http://evil.example/cb"], "grant_types": ["authorization_code"]});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(bad)
        )
        .status,
        400
    );
    let grab = json!({"name": "x", "redirect_uris": [], "grant_types": ["client_credentials"], "allowed_scopes": ["district"]});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(grab)
        )
        .status,
        400
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/clients/sync",
            Some(gm),
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/clients/sync",
            Some(gm),
            None
        )
        .status,
        404
    );
    assert_eq!(client_token(server, "demo", "sync", second, "").0, 401);
}
