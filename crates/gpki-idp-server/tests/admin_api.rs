//! The admin REST API against a running server: every route refuses missing tokens, other
//! schools and missing scopes (generated from the route table, so a new route cannot be
//! forgotten); a GM manages their school on SQLite + in-process and on PostgreSQL + Redis;
//! district operators manage schools and keys; the bulk import of 5,000 users.

mod common;

use std::collections::HashMap;

use common::{browser, hidden, start, Backend, TestServer};
use gpki_idp_core::model::{default_scopes, NewClient};
use gpki_idp_server::demo;
use gpki_idp_server::http::admin::{PREFIX, ROUTES};
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:9000/callback";

/// A client of `school` allowed `scopes`, made as an operator would; returns its secret.
fn service_client(server: &TestServer, school: &str, client_id: &str, scopes: &[&str]) -> String {
    let provider = &server.state.provider;
    let school = common::block_on(provider.directory.school_by_code(school))
        .unwrap()
        .unwrap();
    let secret = format!("secret-of-{client_id}");
    let mut allowed = default_scopes();
    allowed.extend(scopes.iter().map(|s| s.to_string()));
    let client = NewClient {
        school_id: school.id,
        client_id: client_id.into(),
        name: client_id.into(),
        secret_hash: Some(gpki_idp_core::password::hash(&secret)),
        public_client: false,
        require_pkce: false,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into(), "authorization_code".into()],
        id_token_alg: "RS256".into(),
        jwks: None,
        allowed_scopes: allowed,
        default_acr_values: vec![],
        min_acr: None,
    };
    common::block_on(provider.directory.create_client(client)).unwrap();
    secret
}

/// A client_credentials token of `client_id` at `school` for `scope`: (status, body).
fn client_token(
    server: &TestServer,
    school: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    let r = Http::new()
        .post(format!("{}/token", server.issuer(school)))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

/// A new service client's access token with `scopes`.
fn token(server: &TestServer, school: &str, client_id: &str, scopes: &[&str]) -> String {
    let secret = service_client(server, school, client_id, scopes);
    let (status, body) = client_token(server, school, client_id, &secret, &scopes.join(" "));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// The district tenant, with an operator's token.
fn district_token(server: &TestServer) -> String {
    let provider = &server.state.provider;
    let school = common::block_on(provider.directory.create_school("district", "教育局")).unwrap();
    common::block_on(
        provider
            .directory
            .update_school(school.id, None, None, Some(true)),
    )
    .unwrap();
    common::block_on(provider.ensure_keys(&school)).unwrap();
    token(server, "district", "ops", &["district"])
}

/// A PUT with `If-Match: tag`.
fn put_if_match(server: &TestServer, path: &str, bearer: &str, body: Value, tag: &str) -> Answer {
    call_with(
        server,
        Method::PUT,
        path,
        Some(bearer),
        Some(body),
        &[("If-Match", tag)],
    )
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Answer {
    call_with(server, method, path, bearer, body, &[])
}

fn call_with(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut r = Http::new().request(method, format!("{}{PREFIX}{path}", server.base));
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let response = r.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}

fn audit_count(server: &TestServer, school: &str) -> usize {
    let provider = &server.state.provider;
    let school = common::block_on(provider.directory.school_by_code(school))
        .unwrap()
        .unwrap();
    common::block_on(provider.directory.audit_events(school.id, 0, 10_000))
        .unwrap()
        .len()
}

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
    let before = audit_count(&server, common::OTHER_SCHOOL);
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
        let other = concrete(route.path, common::OTHER_SCHOOL);
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
        audit_count(&server, common::OTHER_SCHOOL),
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
    policy_with_etags(&server, &gm);
    roles_and_users(&server, &gm);
    import_with_dry_run(&server, &gm);
    codes_and_certificates(&server, &gm);
    clients_with_secrets(&server, &gm);
    sessions_end_with_their_tokens(&server, &gm);
    audit_search(&server, &gm);
    branding(&server, &gm);
    let keys = call(&server, Method::GET, "/schools/demo/keys", Some(&gm), None);
    assert_eq!(keys.status, 200);
    assert!(keys.body["items"].as_array().unwrap().len() >= 2);
    let rotate = call(
        &server,
        Method::POST,
        "/schools/demo/keys/rotate",
        Some(&gm),
        Some(json!({"alg": "RS256"})),
    );
    assert_eq!(rotate.status, 403, "key rotation is for district operators");
}

/// A PUT of raw bytes (the logo).
fn put_bytes(server: &TestServer, path: &str, bearer: &str, kind: &str, bytes: Vec<u8>) -> u16 {
    Http::new()
        .put(format!("{}{PREFIX}{path}", server.base))
        .bearer_auth(bearer)
        .header("Content-Type", kind)
        .body(bytes)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// The school's colour and logo: set by the GM, checked, audited, shown on the login page.
fn branding(server: &TestServer, gm: &str) {
    let path = "/schools/demo/branding";
    let light = call(
        server,
        Method::PUT,
        path,
        Some(gm),
        Some(json!({"colour": "#ffd700"})),
    );
    assert_eq!(
        light.status, 400,
        "white text on gold is unreadable: {}",
        light.body
    );
    let set = call(
        server,
        Method::PUT,
        path,
        Some(gm),
        Some(json!({"colour": "#0B5D1E"})),
    );
    assert_eq!((set.status, &set.body["colour"]), (200, &json!("#0b5d1e")));
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    assert_eq!(
        put_bytes(server, "/schools/demo/branding/logo", gm, "image/png", svg),
        415
    );
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 64]].concat();
    let logo_path = "/schools/demo/branding/logo";
    assert_eq!(
        put_bytes(server, logo_path, gm, "image/png", png.clone()),
        200
    );
    let got = call(server, Method::GET, path, Some(gm), None);
    let url = got.body["logo"]["url"].as_str().unwrap().to_string();
    let served = Http::new()
        .get(format!("{}{url}", server.base))
        .send()
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().unwrap().to_vec(), png);

    // The login page wears it (after the replica's school cache, dropped on change).
    let auth = format!(
        "{}/schools/demo/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=openid",
        server.base,
        demo::CLIENT_ID
    );
    let page = Http::new().get(auth).send().unwrap().text().unwrap();
    assert!(page.contains("--brand:#0b5d1e"), "the colour");
    assert!(page.contains(&format!("src=\"{url}\"")), "the logo");
    let removed = call(server, Method::DELETE, logo_path, Some(gm), None);
    assert_eq!((removed.status, &removed.body["logo"]), (200, &Value::Null));
    let events = call(
        server,
        Method::GET,
        "/schools/demo/audit?event=school.branding",
        Some(gm),
        None,
    );
    assert_eq!(
        events.body["items"].as_array().unwrap().len(),
        3,
        "every change audited"
    );
}

fn policy_with_etags(server: &TestServer, gm: &str) {
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

fn roles_and_users(server: &TestServer, gm: &str) {
    assert_eq!(
        call(
            server,
            Method::PUT,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        201
    );
    assert_eq!(
        call(
            server,
            Method::PUT,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        200
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/roles/teacher",
            Some(gm),
            None
        )
        .status,
        400
    );
    let new = json!({"username": "lib1", "display_name": "圖書館員", "roles": ["librarian"], "password": "long-enough-1"});
    let created = call(
        server,
        Method::POST,
        "/schools/demo/users",
        Some(gm),
        Some(new.clone()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["has_password"], true);
    assert!(
        created.body.get("password").is_none()
            && !created.body.to_string().contains("long-enough-1")
    );
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users",
            Some(gm),
            Some(new)
        )
        .status,
        409
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        409,
        "in use"
    );
    for bad in [
        json!({"username": "a b", "display_name": "x", "roles": ["teacher"]}),
        json!({"username": "ok", "display_name": "x", "roles": ["wizard"]}),
        json!({"username": "ok", "display_name": "x", "roles": ["teacher"], "password": "short"}),
        json!({"username": "ok", "display_name": "", "roles": ["teacher"]}),
    ] {
        assert_eq!(
            call(
                server,
                Method::POST,
                "/schools/demo/users",
                Some(gm),
                Some(bad.clone())
            )
            .status,
            400,
            "{bad}"
        );
    }
    let patched = call(
        server,
        Method::PATCH,
        "/schools/demo/users/lib1",
        Some(gm),
        Some(json!({"disabled": true, "password": null})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["disabled"], true);
    assert_eq!(patched.body["has_password"], false);
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users/nobody",
            Some(gm),
            None
        )
        .status,
        404
    );
    let roles = call(server, Method::GET, "/schools/demo/roles", Some(gm), None);
    let librarian = roles.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "librarian")
        .unwrap()
        .clone();
    assert_eq!(
        librarian,
        json!({"role": "librarian", "builtin": false, "users": 1})
    );

    // Pages: one user at a time, following next_cursor to the end.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/schools/demo/users?limit=1&cursor={c}"),
            None => "/schools/demo/users?limit=1".into(),
        };
        let page = call(server, Method::GET, &path, Some(gm), None);
        assert_eq!(page.status, 200);
        for u in page.body["items"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(seen.contains(&"teacher".to_string()) && seen.contains(&"lib1".to_string()));
    let found = call(
        server,
        Method::GET,
        "/schools/demo/users?q=lib",
        Some(gm),
        None,
    );
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users?limit=0",
            Some(gm),
            None
        )
        .status,
        400
    );
}

fn import(server: &TestServer, gm: &str, csv: &str, dry_run: bool) -> Answer {
    let r = Http::new()
        .post(format!(
            "{}{PREFIX}/schools/demo/users/import?dry_run={dry_run}",
            server.base
        ))
        .bearer_auth(gm)
        .header("Content-Type", "text/csv")
        .body(csv.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Answer {
        status,
        body: r.json().unwrap_or(Value::Null),
        headers,
    }
}

fn import_with_dry_run(server: &TestServer, gm: &str) {
    let csv = "username,display_name,roles\nnew1,新老師,teacher\nteacher,王小明（改）,teacher;staff\nbad1,X,wizard\n";
    let dry = import(server, gm, csv, true);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(
        (
            dry.body["created"].as_u64(),
            dry.body["updated"].as_u64(),
            dry.body["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(dry.body["rows"][2]["error"], "unknown_role");
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users/new1",
            Some(gm),
            None
        )
        .status,
        404,
        "a dry run writes nothing"
    );
    let real = import(server, gm, csv, false);
    assert_eq!(real.body["created"], 1);
    let teacher = call(
        server,
        Method::GET,
        "/schools/demo/users/teacher",
        Some(gm),
        None,
    );
    assert_eq!(teacher.body["roles"], json!(["teacher", "staff"]));
    assert_eq!(
        teacher.body["has_password"], true,
        "imports never touch passwords"
    );
    let again = import(server, gm, csv, false);
    assert_eq!(again.body["unchanged"], 2);
    assert_eq!(import(server, gm, "user,name\n", false).status, 400);
    let wrong_type = Http::new()
        .post(format!("{}{PREFIX}/schools/demo/users/import", server.base))
        .bearer_auth(gm)
        .header("Content-Type", "application/xml")
        .body("<users/>")
        .send()
        .unwrap();
    assert_eq!(wrong_type.status().as_u16(), 415);
    let json_rows = Http::new()
        .post(format!("{}{PREFIX}/schools/demo/users/import", server.base))
        .bearer_auth(gm)
        .json(&json!([{"username": "new2", "display_name": "另一位", "roles": ["staff"]}, {"username": "x"}]))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(
        (json_rows["created"].as_u64(), json_rows["failed"].as_u64()),
        (Some(1), Some(1))
    );
}

fn codes_and_certificates(server: &TestServer, gm: &str) {
    let issued = call(
        server,
        Method::POST,
        "/schools/demo/users/teacher/enrollment-codes",
        Some(gm),
        Some(json!({"hours": 2})),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let code = issued.body["code"].as_str().unwrap().to_string();
    let listed = call(
        server,
        Method::GET,
        "/schools/demo/enrollment-codes",
        Some(gm),
        None,
    );
    let item = &listed.body["items"][0];
    assert_eq!(item["username"], "teacher");
    assert_eq!(item["used"], false);
    assert!(
        !listed.body.to_string().contains(&code),
        "the code is shown once only"
    );
    let path = format!("/schools/demo/enrollment-codes/{}", issued.body["id"]);
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        204
    );
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        404
    );
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users/teacher/enrollment-codes",
            Some(gm),
            Some(json!({"hours": 0}))
        )
        .status,
        400
    );
    let certs = call(
        server,
        Method::GET,
        "/schools/demo/certificates",
        Some(gm),
        None,
    );
    assert_eq!(certs.body["items"], json!([]));
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/certificates/999",
            Some(gm),
            None
        )
        .status,
        404
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/certificates/abc",
            Some(gm),
            None
        )
        .status,
        400
    );
}

fn clients_with_secrets(server: &TestServer, gm: &str) {
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

/// A code flow: `username` logs in with the password at `client` asking for `scope`;
/// returns the browser and the token response.
fn code_flow(
    server: &TestServer,
    client: &str,
    secret: &str,
    scope: &str,
    username: &str,
) -> (Http, Value) {
    let b = browser();
    let mut url = url::Url::parse(&format!("{}/authorize", server.issuer(demo::SCHOOL))).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope);
    let html = b.get(url).send().unwrap().text().unwrap();
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("username", username.into()),
        ("password", demo::PASSWORD.into()),
    ];
    let r = b
        .post(format!("{}/login", server.issuer(demo::SCHOOL)))
        .form(&form)
        .send()
        .unwrap();
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    let tokens: Value = Http::new()
        .post(format!("{}/token", server.issuer(demo::SCHOOL)))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    (b, tokens)
}

fn sessions_end_with_their_tokens(server: &TestServer, gm: &str) {
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
    let refreshed = Http::new()
        .post(format!("{}/token", server.issuer(demo::SCHOOL)))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .unwrap();
    assert_eq!(
        refreshed.status().as_u16(),
        400,
        "the session's refresh tokens end with it"
    );
    let mut url = url::Url::parse(&format!("{}/authorize", server.issuer(demo::SCHOOL))).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", demo::CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid");
    assert_eq!(
        b.get(url).send().unwrap().status().as_u16(),
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

fn audit_search(server: &TestServer, gm: &str) {
    let created = call(
        server,
        Method::GET,
        "/schools/demo/audit?event=user.create",
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

#[test]
fn district_operators_manage_schools_and_keys() {
    let server = start(Backend::Embedded, |_| {});
    let ops = district_token(&server);
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    assert_eq!(
        call(&server, Method::GET, "/me", Some(&ops), None).body["district"],
        true
    );
    let created = call(
        &server,
        Method::POST,
        "/schools",
        Some(&ops),
        Some(json!({"code": "new-school", "name": "新國小"})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&ops),
            Some(json!({"code": "new-school", "name": "again"}))
        )
        .status,
        409
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&ops),
            Some(json!({"code": "Bad Code", "name": "x"}))
        )
        .status,
        400
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&gm),
            Some(json!({"code": "mine", "name": "x"}))
        )
        .status,
        403
    );
    let listed = call(&server, Method::GET, "/schools", Some(&ops), None);
    let codes: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"new-school") && codes.contains(&"demo"));
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        server.issuer("new-school")
    );
    assert_eq!(
        Http::new()
            .get(&discovery)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let keys = call(
        &server,
        Method::GET,
        "/schools/new-school/keys",
        Some(&ops),
        None,
    );
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 2);
    let rotated = call(
        &server,
        Method::POST,
        "/schools/new-school/keys/rotate",
        Some(&ops),
        Some(json!({"alg": "ES256"})),
    );
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let keys = call(
        &server,
        Method::GET,
        "/schools/new-school/keys",
        Some(&ops),
        None,
    );
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/schools/demo/users/teacher",
            Some(&ops),
            None
        )
        .status,
        200,
        "every school"
    );

    let disabled = call(
        &server,
        Method::PATCH,
        "/schools/new-school",
        Some(&ops),
        Some(json!({"disabled": true})),
    );
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(
        Http::new()
            .get(&discovery)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        call(
            &server,
            Method::PATCH,
            "/schools/demo",
            Some(&gm),
            Some(json!({"name": "x"}))
        )
        .status,
        403
    );

    // A `district` scope cannot be had from an ordinary school.
    let secret = service_client(&server, demo::SCHOOL, "pretender", &[]);
    assert_eq!(
        client_token(&server, demo::SCHOOL, "pretender", &secret, "district").0,
        400
    );
    let events = call(
        &server,
        Method::GET,
        "/schools/new-school/audit",
        Some(&ops),
        None,
    );
    let kinds: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["school.create", "key.rotate", "school.update"]);
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

#[test]
fn bulk_import_of_5000_users_into_postgres() {
    let server = start(Backend::Real, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let mut csv = String::from("username,display_name,roles,disabled\n");
    for i in 0..5000 {
        csv.push_str(&format!("t{i:05},教師{i},teacher,false\n"));
    }
    for i in 0..10 {
        csv.push_str(&format!("bad {i},壞資料,teacher,false\n"));
    }
    let started = std::time::Instant::now();
    let report = import(&server, &gm, &csv, false);
    let took = started.elapsed();
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["created"], 5000);
    assert_eq!(report.body["failed"], 10);
    assert_eq!(report.body["rows"][5000]["error"], "invalid_username");
    println!(
        "import of 5,000 users into PostgreSQL: {:.2} s",
        took.as_secs_f64()
    );
    let last = call(
        &server,
        Method::GET,
        "/schools/demo/users/t04999",
        Some(&gm),
        None,
    );
    assert_eq!(last.body["display_name"], "教師4999");
    let again = import(&server, &gm, &csv, false);
    assert_eq!(again.body["unchanged"], 5000);
}
