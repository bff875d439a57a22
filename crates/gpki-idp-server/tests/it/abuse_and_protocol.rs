//! Issue 11's abuse and protocol rules, each tried from outside against a real server:
//! bounded authorization requests, throttling that counts failures only (a school behind one
//! address), introspection only for confidential clients, max_age=0, POST at /authorize and
//! /logout, request_uri, RFC 6749/6750 error shapes, the CSRF cookie, and a double submit.

use gpki_idp_core::model::{NewClient, NewUser};
use gpki_idp_server::demo;
use reqwest::blocking::{Client as Http, Response};
use serde_json::Value;

use crate::support::rp::{redirect_query, LoginForm};
use crate::support::server::{new_client, PUBLIC_CLIENT};
use crate::support::{block_on, browser, hidden, http, start, Backend, Rp, TestServer, REDIRECT};

/// The demo portal asking for a refresh token too; `state` is `st` unless a call gives one.
fn portal(server: &TestServer) -> Rp {
    server
        .portal()
        .scope("openid offline_access")
        .param("state", "st")
}

/// The demo portal's authorization URL with `extra` parameters.
fn portal_url(server: &TestServer, extra: &[(&str, &str)]) -> String {
    portal(server).authorize_url(extra)
}

/// Posts the login form of `html` (a login page) as `username`.
fn submit(server: &TestServer, b: &Http, html: &str, username: &str, password: &str) -> Response {
    portal(server).submit_password(b, &LoginForm::of(html), username, password)
}

/// Opens the portal's login page and logs in.
fn login(server: &TestServer, b: &Http, username: &str, password: &str) -> Response {
    portal(server).password_login(b, &[], username, password)
}

#[test]
fn oversized_parameters_are_refused_and_pending_logins_cost_nothing() {
    let server = start(Backend::Embedded, |_| {});
    let huge = "Q".repeat(60 * 1024);
    let r = http()
        .get(portal_url(&server, &[("state", &huge)]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none(), "never redirected");
    let body = r.text().unwrap();
    assert!(body.contains("state is too long"), "{body}");
    assert!(!body.contains(&"Q".repeat(100)), "the state is not echoed");

    // Requests that are each allowed are all answered: nothing is stored for a pending
    // login (its page carries it, signed), so no budget can be spent and refuse a school
    // behind the same address (issue 17 #6).
    let long_state = "S".repeat(2000);
    let statuses: Vec<u16> = (0..200)
        .map(|_| {
            let url = portal_url(&server, &[("state", &long_state)]);
            http().get(url).send().unwrap().status().as_u16()
        })
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[test]
fn a_school_behind_one_address_logs_in_all_morning_and_a_guesser_is_slowed() {
    let server = start(Backend::Embedded, |_| {});
    let provider = &server.state.provider;
    let school = server.demo_school();
    let hash = gpki_idp_core::password::hash("morning-pass");
    for i in 0..500 {
        let user = NewUser {
            school_id: school.id,
            username: format!("t{i:03}"),
            display_name: format!("老師 {i}"),
            password_hash: Some(hash.clone()),
            roles: vec!["teacher".into()],
            password_must_change: false,
        };
        block_on(provider.directory().create_user(user)).unwrap();
    }
    for i in 0..500 {
        let r = login(&server, &browser(), &format!("t{i:03}"), "morning-pass");
        assert_eq!(r.status(), 302, "teacher {i} from the school's one address");
        assert!(redirect_query(&r).contains_key("code"));
    }

    // A guesser from the same address: five wrong passwords, then every attempt waits.
    let b = browser();
    for _ in 0..5 {
        assert_eq!(login(&server, &b, "teacher", "guess").status(), 200);
    }
    let slowed = login(&server, &b, "teacher", demo::PASSWORD);
    assert_eq!(slowed.status(), 429, "even the right password waits");
    let wait: u64 = slowed.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        wait, 1,
        "the first wait is a second, not a quarter of an hour"
    );
    assert!(slowed.text().unwrap().contains("稍候"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = login(&server, &b, "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 302, "the teacher is in after the wait");
    // Other teachers of the school were never held up.
    assert_eq!(
        login(&server, &browser(), "t000", "morning-pass").status(),
        302
    );
}

#[test]
fn introspection_needs_a_confidential_client_and_shows_only_its_tokens() {
    let server = start(Backend::Embedded, |_| {});
    let provider = &server.state.provider;
    let school = server.demo_school();
    let tokens = portal(&server).tokens("teacher");
    let access = tokens["access_token"].as_str().unwrap();
    let url = format!("{}/introspect", server.issuer(demo::SCHOOL));
    let introspect = |form: &[(&str, &str)], basic: Option<(&str, &str)>| {
        let mut rq = http().post(&url).form(form);
        if let Some((id, secret)) = basic {
            rq = rq.basic_auth(id, Some(secret));
        }
        let r = rq.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (status, body) = introspect(&[("token", access), ("client_id", PUBLIC_CLIENT)], None);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(body.get("active").is_none(), "nothing about the token");

    let (_, own) = introspect(
        &[("token", access)],
        Some((demo::CLIENT_ID, demo::CLIENT_SECRET)),
    );
    assert_eq!(own["active"], true);

    let mut rs = NewClient {
        name: "resource server".into(),
        redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        allowed_scopes: vec![],
        ..new_client(&school, "resource-server", Some("rs-secret"))
    };
    block_on(provider.directory().create_client(rs.clone())).unwrap();
    let rs_auth = Some(("resource-server", "rs-secret"));
    let (_, other) = introspect(&[("token", access)], rs_auth);
    assert_eq!(
        other,
        serde_json::json!({"active": false}),
        "another client's token"
    );

    rs.allowed_scopes = vec!["introspection".into()];
    let mut client = block_on(provider.directory().client(school.id, "resource-server"))
        .unwrap()
        .unwrap();
    client.allowed_scopes = rs.allowed_scopes.clone();
    block_on(provider.directory().update_client(client)).unwrap();
    provider.forget_client(school.id, "resource-server");
    let (_, granted) = introspect(&[("token", access)], rs_auth);
    assert_eq!(
        granted["active"], true,
        "a resource server granted introspection"
    );
    assert_eq!(granted["client_id"], demo::CLIENT_ID);
}

#[test]
fn max_age_zero_asks_again_even_in_the_same_second() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    assert_eq!(login(&server, &b, "teacher", demo::PASSWORD).status(), 302);
    let reuse = b.get(portal_url(&server, &[])).send().unwrap();
    assert_eq!(reuse.status(), 302, "the session is reused without max_age");
    let again = b
        .get(portal_url(&server, &[("max_age", "0")]))
        .send()
        .unwrap();
    assert_eq!(again.status(), 200, "max_age=0 shows the login page");
    assert!(again.text().unwrap().contains("name=\"password\""));
}

#[test]
fn authorize_and_logout_accept_post_forms() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let issuer = server.issuer(demo::SCHOOL);
    let form = [
        ("response_type", "code"),
        ("client_id", demo::CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "posted"),
    ];
    let page = b
        .post(format!("{issuer}/authorize"))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    let r = submit(&server, &b, &html, "teacher", demo::PASSWORD);
    assert_eq!(redirect_query(&r)["state"], "posted");
    // Without an id_token_hint the person is asked first (RP-Initiated Logout §2): nothing
    // ends until our own form, with its CSRF value, is posted back.
    let asked = b
        .post(format!("{issuer}/logout"))
        .form(&[("ui_locales", "en")])
        .send()
        .unwrap();
    assert_eq!(asked.status(), 200);
    let question = asked.text().unwrap();
    assert!(question.contains("name=\"confirm\""), "{question}");
    let still = b.get(portal_url(&server, &[])).send().unwrap();
    assert_eq!(still.status(), 302, "not logged out by the question alone");
    let forged = b
        .post(format!("{issuer}/logout"))
        .form(&[("confirm", "yes"), ("csrf", "forged")])
        .send()
        .unwrap();
    assert!(
        forged.text().unwrap().contains("name=\"confirm\""),
        "a forged answer asks again"
    );
    let form = [
        ("csrf", hidden(&question, "csrf")),
        ("confirm", "yes".to_string()),
    ];
    let out = b
        .post(format!("{issuer}/logout"))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    let cleared = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("gpki_session=;"));
    assert!(cleared, "the session cookie is cleared");
    let again = b.get(portal_url(&server, &[])).send().unwrap();
    assert_eq!(again.status(), 200, "logged out: the login page again");
}

#[test]
fn request_uri_auth_schemes_and_error_shapes_follow_the_rfcs() {
    let server = start(Backend::Embedded, |_| {});
    let issuer = server.issuer(demo::SCHOOL);
    let r = http()
        .get(portal_url(
            &server,
            &[("request_uri", "https://x.example/r")],
        ))
        .send()
        .unwrap();
    assert_eq!(redirect_query(&r)["error"], "request_uri_not_supported");
    let discovery: Value = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(discovery["request_uri_parameter_supported"], false);
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );

    // Scheme names in any case (RFC 9110 §11.1).
    let tokens = portal(&server).tokens("teacher");
    let access = tokens["access_token"].as_str().unwrap();
    let r = http()
        .get(format!("{issuer}/userinfo"))
        .header("Authorization", format!("bearer {access}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "lower-case bearer");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", demo::CLIENT_ID, demo::CLIENT_SECRET),
    );
    let r = http()
        .post(format!("{issuer}/introspect"))
        .header("Authorization", format!("BASIC {basic}"))
        .form(&[("token", access)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "upper-case basic");

    // No request text in error_description, and only its character set.
    let r = http()
        .post(format!("{issuer}/token"))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .form(&[("grant_type", "evil\"grant\\<script>")])
        .send()
        .unwrap();
    let body: Value = r.json().unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(!description.contains("evil") && !description.contains('"'));
    assert!(description
        .chars()
        .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'));

    // Without any credentials: `WWW-Authenticate: Bearer` and no error code (RFC 6750 §3.1).
    let r = http().get(format!("{issuer}/userinfo")).send().unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer") && !challenge.contains("error="),
        "{challenge}"
    );
    let r = http()
        .get(format!("{}/admin/v1/schools", server.base))
        .send()
        .unwrap();
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(!challenge.contains("error="), "admin API too: {challenge}");
}

#[test]
fn the_csrf_cookie_is_host_prefixed_on_https() {
    let server = start(Backend::Embedded, |c| {
        c.public_url = Some("https://idp.example.edu.tw".into())
    });
    let r = http().get(portal_url(&server, &[])).send().unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.contains("csrf"))
        .expect("a CSRF cookie");
    assert!(cookie.starts_with("__Host-gpki_csrf="), "{cookie}");
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    assert!(
        cookie.contains("Secure") && !cookie.contains("Domain"),
        "{cookie}"
    );
}

#[test]
fn a_second_tab_does_not_break_the_first_and_a_double_submit_leaves_one_session() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let first = b
        .get(portal_url(&server, &[]))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let second = b
        .get(portal_url(&server, &[]))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(
        hidden(&first, "csrf"),
        hidden(&second, "csrf"),
        "one token per browser"
    );
    let r = submit(&server, &b, &first, "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 302, "the first tab's form still works");

    // The same form sent again: refused before any login happens, no second session, and
    // the audit log holds the one success the browser got.
    let again = submit(&server, &b, &first, "teacher", demo::PASSWORD);
    assert_ne!(again.status(), 302);
    let provider = &server.state.provider;
    let school = server.demo_school();
    let events = block_on(provider.directory().audit_events(school.id, 0, 1000)).unwrap();
    let outcomes: Vec<&str> = events
        .iter()
        .filter(|e| e.event == "login.password")
        .map(|e| e.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["success"], "what the browser got");
    let teacher = block_on(provider.directory().user_by_username(school.id, "teacher"))
        .unwrap()
        .unwrap();
    let sessions = block_on(provider.directory().list_sessions(
        school.id,
        Some(teacher.id),
        String::new(),
        100,
        gpki_idp_core::now(),
    ))
    .unwrap();
    assert_eq!(
        sessions.len(),
        1,
        "no orphan session from the second submit"
    );
}

#[test]
fn a_parameter_sent_twice_is_refused() {
    let server = start(Backend::Embedded, |_| {});
    let issuer = server.issuer(demo::SCHOOL);
    let twice = format!("{}&state=other", portal_url(&server, &[]));
    let r = http().get(twice).send().unwrap();
    assert_eq!(r.status(), 400, "RFC 6749 §3.1");
    assert!(r.headers().get("location").is_none());
    let r = http()
        .post(format!("{issuer}/token"))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=authorization_code")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"], "invalid_request");
    let r = http()
        .post(format!("{issuer}/token"))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "a token request is a form");
}
