//! The admin REST API against a running server: every route refuses missing tokens, other
//! schools and missing scopes (generated from the route table, so a new route cannot be
//! forgotten); a GM manages their school on SQLite + in-process and on PostgreSQL + Redis,
//! resource by resource (a module each); district operators manage schools and keys; the bulk
//! import of 5,000 users.

mod branding;
mod certificates;
mod clients;
mod schools;
mod sessions_audit_keys;
mod settings;
mod users;

use gpki_idp_server::demo;
use gpki_idp_server::http::admin::ROUTES;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin::{audit_count, call, service_client, token};
use crate::support::rp::redirect_query;
use crate::support::server::OTHER_SCHOOL;
use crate::support::{browser, start, Backend, Rp, TestServer};

/// A concrete path for a route pattern, addressing `school`.
fn concrete(pattern: &str, school: &str) -> String {
    pattern
        .replace("{school}", school)
        .replace("{username}", "teacher")
        .replace("{role}", "teacher")
        .replace("{client_id}", demo::CLIENT_ID)
        .replace("sessions/{id}", &format!("sessions/{}", "a".repeat(64)))
        .replace("{id}", "1")
}

#[test]
fn every_admin_route_checks_token_school_and_scope() {
    let server = start(Backend::Embedded, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let plain = token(&server, demo::SCHOOL, "plain-service", &[]);
    let before = audit_count(&server, OTHER_SCHOOL);
    assert!(ROUTES.len() >= 30);
    for route in ROUTES {
        let method = Method::from_bytes(route.method.to_ascii_uppercase().as_bytes()).unwrap();
        let body = matches!(route.method, "post" | "put" | "patch").then(|| json!({}));
        let label = format!("{} {}", route.method, route.path);

        let own = concrete(route.path, demo::SCHOOL);
        let a = call(&server, method.clone(), &own, None, body.clone());
        assert_eq!(a.status, 401, "{label}: no token");
        assert!(a.headers.contains_key("www-authenticate"), "{label}");
        assert_eq!(a.body["error"], "invalid_token", "{label}");
        let a = call(
            &server,
            method.clone(),
            &own,
            Some("1.forged"),
            body.clone(),
        );
        assert_eq!(a.status, 401, "{label}: forged token");

        // A token without admin scopes, at its own school.
        let a = call(&server, method.clone(), &own, Some(&plain), body.clone());
        assert_eq!(a.status, 403, "{label}: no scope");
        assert_eq!(a.body["error"], "insufficient_scope", "{label}");

        // A GM's token at another school: that school does not exist for them.
        let other = concrete(route.path, OTHER_SCHOOL);
        let a = call(&server, method.clone(), &other, Some(&gm), body.clone());
        let expected = match (route.path.contains("{school}"), route.path) {
            (true, _) => 404,
            (false, "/me") => 200,
            (false, _) => 403,
        };
        assert_eq!(a.status, expected, "{label}: {}", a.body);
        assert!(
            !a.body.to_string().contains("別的國中"),
            "{label}: the other school leaks"
        );
    }
    assert_eq!(
        audit_count(&server, OTHER_SCHOOL),
        before,
        "nothing was changed"
    );
}

#[test]
fn a_gm_manages_the_school_on_sqlite_and_in_process_state() {
    gm_manages_the_school(Backend::Embedded);
}

#[test]
fn a_gm_manages_the_school_on_postgres_and_redis() {
    gm_manages_the_school(Backend::Real);
}

fn gm_manages_the_school(backend: Backend) {
    let server = start(backend, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let me = call(&server, Method::GET, "/me", Some(&gm), None);
    assert_eq!(me.body["school"], "demo");
    assert_eq!(me.body["district"], false);
    assert_eq!(me.body["actor"], "client:gm-service");
    // One resource after the other on one server: later steps build on earlier ones (the
    // audit search finds the user the users step made, the clients step uses an imported
    // account).
    settings::policy_with_etags(&server, &gm);
    users::roles_and_users(&server, &gm);
    users::import_with_dry_run(&server, &gm);
    certificates::codes_and_certificates(&server, &gm);
    clients::clients_with_secrets(&server, &gm);
    sessions_audit_keys::sessions_end_with_their_tokens(&server, &gm);
    sessions_audit_keys::audit_search(&server, &gm);
    branding::branding(&server, &gm);
    sessions_audit_keys::keys_are_listed_and_rotated_by_the_district(&server, &gm);
}

/// A code flow: `username` logs in with the password at `client` asking for `scope`;
/// returns the browser and the token response.
fn code_flow(
    server: &TestServer,
    client: &str,
    secret: &str,
    scope: &str,
    username: &str,
) -> (Http, Value) {
    let rp = Rp::client(&server.issuer(demo::SCHOOL), client, secret).scope(scope);
    let b = browser();
    let r = rp.password_login(&b, &[], username, demo::PASSWORD);
    let (_, tokens) = rp.exchange(&redirect_query(&r)["code"]);
    (b, tokens)
}

/// `username` logs in at the console client asking for `admin`: (access token, scope).
fn console_token(server: &TestServer, username: &str) -> (String, String) {
    let (_, tokens) = code_flow(
        server,
        "console",
        "secret-of-console",
        "openid admin",
        username,
    );
    (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["scope"].as_str().unwrap().to_string(),
    )
}

#[test]
fn only_a_school_admin_logging_in_gets_the_admin_scope() {
    let server = start(Backend::Embedded, |_| {});
    service_client(&server, demo::SCHOOL, "console", &["admin"]);
    let (gm, scope) = console_token(&server, "gm");
    assert_eq!(scope, "openid admin");
    let me = call(&server, Method::GET, "/me", Some(&gm), None);
    assert_eq!(me.body["actor"], "gm");
    let (teacher, scope) = console_token(&server, "teacher");
    assert_eq!(
        scope, "openid",
        "a teacher asking for admin does not get it"
    );
    assert_eq!(
        call(&server, Method::GET, "/me", Some(&teacher), None).status,
        403
    );
    // A GM who loses the admin role loses the API with their next token.
    let changed = call(
        &server,
        Method::PATCH,
        "/schools/demo/users/gm",
        Some(&gm),
        Some(json!({"roles": ["teacher"]})),
    );
    assert_eq!(changed.status, 200);
    let (again, scope) = console_token(&server, "gm");
    assert_eq!(scope, "openid");
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/schools/demo/users",
            Some(&again),
            None
        )
        .status,
        403
    );
}
