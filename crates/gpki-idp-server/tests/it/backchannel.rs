//! OpenID Connect Back-Channel Logout 1.0 end to end: a test portal (a small HTTP server
//! here) receives the logout token of every way a session ends — RP-initiated logout, the
//! teacher ending one or all of their sessions on the account page, a GM ending it through
//! the admin API, the account disabled — and verifies it (signature against the issuer's
//! JWKS, `typ`, every claim, no `nonce`). A portal that hangs or answers 500 does not delay
//! the logout page and is tried again; one that never answers is given up, audited. A GM
//! of one school cannot end another school's session.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gpki_idp_core::oidc::backchannel::LOGOUT_EVENT;
use gpki_idp_server::demo;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin::{call, district_token, token};
use crate::support::http::{claims_of, header_of, hidden, urlencode};
use crate::support::rp::redirect_query;
use crate::support::server::OTHER_SCHOOL;
use crate::support::{block_on, browser, start, Backend, TestServer};

/// How the test portal answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Ok,
    Fail,
    /// Holds the connection for 20 s without answering.
    Hang,
}

/// A portal's back-channel logout endpoint: records every `logout_token` posted, answering
/// as `plan` says (one answer per request, then `Ok`).
#[derive(Clone)]
pub struct Portal {
    pub url: String,
    received: Arc<Mutex<Vec<(Instant, String)>>>,
    plan: Arc<Mutex<Vec<Answer>>>,
    pub hits: Arc<Mutex<usize>>,
}

impl Portal {
    pub fn start(plan: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/backchannel",
            listener.local_addr().unwrap().port()
        );
        let portal = Portal {
            url,
            received: Arc::default(),
            plan: Arc::new(Mutex::new(plan)),
            hits: Arc::default(),
        };
        let p = portal.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let p = p.clone();
                std::thread::spawn(move || p.serve(stream));
            }
        });
        portal
    }

    fn serve(&self, mut stream: TcpStream) {
        let Some(body) = read_request(&mut stream) else {
            return;
        };
        *self.hits.lock().unwrap() += 1;
        let answer = {
            let mut plan = self.plan.lock().unwrap();
            if plan.is_empty() {
                Answer::Ok
            } else {
                plan.remove(0)
            }
        };
        let status = match answer {
            Answer::Hang => {
                std::thread::sleep(Duration::from_secs(20));
                return;
            }
            Answer::Fail => "500 Internal Server Error",
            Answer::Ok => {
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                self.received.lock().unwrap().push((Instant::now(), token));
                "200 OK"
            }
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        );
    }

    /// The tokens received so far.
    pub fn tokens(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Waits (at most `within`) for the `n`-th token and returns it.
    pub fn nth(&self, n: usize, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            if let Some(t) = self.tokens().get(n - 1) {
                return t.clone();
            }
            assert!(
                Instant::now() < until,
                "no logout token #{n} within {within:?} (got {})",
                self.tokens().len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A request's body (by its Content-Length), once its head is read.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..]).into_owned())
}

/// Gives `client_id` of `school` this back-channel logout URI, as an operator would.
pub fn set_backchannel(server: &TestServer, school: &str, client_id: &str, uri: &str) {
    let dir = &server.state.provider.directory();
    let school = block_on(dir.school_by_code(school)).unwrap().unwrap();
    let mut client = block_on(dir.client(school.id, client_id)).unwrap().unwrap();
    client.backchannel_logout_uri = Some(uri.into());
    assert!(block_on(dir.update_client(client)).unwrap());
    server.state.provider.forget_client(school.id, client_id);
}

/// Checks a logout token as a portal must (Back-Channel Logout 1.0 §2.6): signed by a key
/// of the issuer's JWKS, `typ` `logout+jwt`, for this client, with the session's `sid` and
/// the account's `sub`, the logout event, fresh, and no `nonce`. Returns its claims.
pub fn verify(issuer: &str, client_id: &str, token: &str, id_token: &Value) -> Value {
    let jwks: Value = Http::new()
        .get(format!("{issuer}/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let claims = gpki_idp_core::jws::verify_jwt_with(token, &jwks)
        .expect("the logout token's signature verifies against the issuer's JWKS");
    let header = header_of(token);
    assert_eq!(header["typ"], "logout+jwt", "{header}");
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == header["kid"]));
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sub"], id_token["sub"]);
    assert_eq!(
        claims["sid"], id_token["sid"],
        "the session of the ID token"
    );
    assert!(claims["events"][LOGOUT_EVENT].is_object(), "{claims}");
    assert!(claims.get("nonce").is_none(), "a logout token has no nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let now = gpki_idp_core::now();
    let iat = claims["iat"].as_i64().unwrap();
    assert!((now - 60..=now + 5).contains(&iat), "{claims}");
    assert!(claims["exp"].as_i64().unwrap() > now);
    claims
}

/// A password login of `username` at the demo portal: the browser, the token response and
/// the ID token's claims.
pub fn log_in(server: &TestServer, username: &str) -> (Http, Value, Value) {
    let b = browser();
    let rp = server.portal().param("nonce", "n-1");
    let r = rp.password_login(&b, &[], username, demo::PASSWORD);
    let (status, tokens) = rp.exchange(&redirect_query(&r)["code"]);
    assert_eq!(status, 200, "{tokens}");
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert!(id["sid"].as_str().is_some_and(|s| !s.is_empty()), "{id}");
    (b, tokens, id)
}

/// The account page's sessions of the browser `b` (JSON), and its CSRF value.
fn own_sessions(server: &TestServer, b: &Http) -> (Vec<Value>, String) {
    let issuer = server.issuer(demo::SCHOOL);
    let page = b.get(format!("{issuer}/account")).send().unwrap();
    assert_eq!(page.status(), 200);
    let csrf = hidden(&page.text().unwrap(), "csrf");
    let listed: Value = b
        .get(format!("{issuer}/account/sessions"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    (listed["sessions"].as_array().unwrap().clone(), csrf)
}

pub fn quick(c: &mut gpki_idp_server::config::Config) {
    c.backchannel_logout.poll_interval_ms = 100;
    c.backchannel_logout.first_retry_secs = 1;
    c.backchannel_logout.max_retry_interval_secs = 1;
    c.backchannel_logout.timeout_secs = 1;
}

fn every_way_a_session_ends(backend: Backend) {
    let portal = Portal::start(vec![]);
    let server = start(backend, quick);
    let issuer = server.issuer(demo::SCHOOL);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &portal.url);
    let discovery: Value = Http::new()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    let check = |n: usize, id: &Value| {
        let token = portal.nth(n, Duration::from_secs(10));
        verify(&issuer, demo::CLIENT_ID, &token, id)
    };

    // 1. RP-initiated logout: the page answers at once; the portal is told.
    let (b, tokens, id) = log_in(&server, "teacher");
    assert_ne!(
        id["sid"].as_str().unwrap().len(),
        64,
        "the sid is not the cookie's hash"
    );
    let hint = tokens["id_token"].as_str().unwrap();
    let out = b
        .get(format!("{issuer}/logout?id_token_hint={hint}"))
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    check(1, &id);

    // 2. The teacher ends one session on the account page, from another browser.
    let (_, _, first) = log_in(&server, "teacher");
    let (other, _, _) = log_in(&server, "teacher");
    let (sessions, csrf) = own_sessions(&server, &other);
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let target = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(target["clients"], json!([demo::CLIENT_ID]));
    assert!(target["ip"].as_str().is_some_and(|ip| !ip.is_empty()));
    let ended = other
        .post(format!(
            "{issuer}/account/sessions/{}/end",
            target["id"].as_str().unwrap()
        ))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(ended.status(), 303);
    check(2, &first);
    // Without the CSRF value nothing ends.
    let refused = other
        .post(format!("{issuer}/account/sessions/end-all"))
        .form(&[("csrf", "forged")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(own_sessions(&server, &other).0.len(), 1);

    // 3. … or all of them.
    let (_, _, second) = log_in(&server, "teacher");
    let (_, csrf) = own_sessions(&server, &other);
    let all = other
        .post(format!("{issuer}/account/sessions/end-all"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(all.status(), 303);
    let mut told: Vec<String> = (3..=4)
        .map(|n| {
            claims_of(&portal.nth(n, Duration::from_secs(10)))["sid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    told.sort();
    assert!(told.contains(&second["sid"].as_str().unwrap().to_string()));
    let page = other.get(format!("{issuer}/account")).send().unwrap();
    assert_ne!(page.status(), 200, "this browser was logged out too");

    // 4. A GM ends it through the admin API; a GM of another school cannot.
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let other_gm = token(&server, OTHER_SCHOOL, "other-gm", &["admin"]);
    let (_, _, fourth) = log_in(&server, "teacher");
    let listed = call(
        &server,
        Method::GET,
        "/schools/demo/sessions?username=teacher",
        Some(&gm),
        None,
    );
    let item = &listed.body["items"][0];
    assert_eq!(item["clients"], json!([demo::CLIENT_ID]), "{}", listed.body);
    // (The test's browser sends no User-Agent: the field is there, empty.)
    assert!(
        item.get("user_agent").is_some() && item["ip"].is_string(),
        "{item}"
    );
    let path = format!("/schools/demo/sessions/{}", item["id"].as_str().unwrap());
    let foreign = format!(
        "/schools/{OTHER_SCHOOL}/sessions/{}",
        item["id"].as_str().unwrap()
    );
    let cross = call(&server, Method::DELETE, &path, Some(&other_gm), None);
    assert!(matches!(cross.status, 403 | 404), "{}", cross.body);
    let elsewhere = call(&server, Method::DELETE, &foreign, Some(&other_gm), None);
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);
    assert_eq!(
        portal.tokens().len(),
        4,
        "nothing ended by the other school"
    );
    assert_eq!(
        call(&server, Method::DELETE, &path, Some(&gm), None).status,
        204
    );
    check(5, &fourth);
    // A district operator ends a session of any school.
    let ops = district_token(&server);
    let (_, _, fifth) = log_in(&server, "teacher");
    let listed = call(
        &server,
        Method::GET,
        "/schools/demo/sessions",
        Some(&ops),
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let id = listed.body["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/schools/demo/sessions/{id}");
    assert_eq!(
        call(&server, Method::DELETE, &path, Some(&ops), None).status,
        204
    );
    check(6, &fifth);

    // 5. The account disabled: every session of it ends.
    let (_, _, staff) = log_in(&server, "staff");
    let patched = call(
        &server,
        Method::PATCH,
        "/schools/demo/users/staff",
        Some(&gm),
        Some(json!({"disabled": true})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    check(7, &staff);

    // Each end is audited with who ended it, and each delivery.
    let audit = call(
        &server,
        Method::GET,
        "/schools/demo/audit?event=session.end",
        Some(&gm),
        None,
    );
    let reasons: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"]["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"self") && reasons.contains(&"user.disabled"),
        "{reasons:?}"
    );
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let sent = call(
            &server,
            Method::GET,
            "/schools/demo/audit?event=logout.token_sent",
            Some(&gm),
            None,
        );
        if sent.body["items"].as_array().unwrap().len() >= 7 {
            break;
        }
        assert!(Instant::now() < until, "{}", sent.body);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(portal.tokens().len(), 7, "one token per session ended");
}

#[test]
fn every_way_a_session_ends_reaches_the_portal_on_sqlite() {
    every_way_a_session_ends(Backend::Embedded);
}

#[test]
fn every_way_a_session_ends_reaches_the_portal_on_postgres() {
    every_way_a_session_ends(Backend::Real);
}

#[test]
fn a_portal_that_hangs_or_fails_does_not_delay_logout_and_is_tried_again() {
    let portal = Portal::start(vec![Answer::Hang, Answer::Fail]);
    let server = start(Backend::Embedded, quick);
    let issuer = server.issuer(demo::SCHOOL);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &portal.url);
    let (b, tokens, id) = log_in(&server, "teacher");
    let hint = tokens["id_token"].as_str().unwrap();
    let started = Instant::now();
    let out = b
        .get(format!(
            "{issuer}/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            urlencode("http://127.0.0.1:9000/")
        ))
        .send()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status(), 302);
    assert!(
        took < Duration::from_millis(900),
        "the logout waited {took:?}"
    );
    // Hung (1 s timeout), failed (500), then delivered.
    let token = portal.nth(1, Duration::from_secs(15));
    verify(&issuer, demo::CLIENT_ID, &token, &id);
    assert_eq!(*portal.hits.lock().unwrap(), 3);
    let metrics = Http::new()
        .get(format!("{}/metrics", server.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("gpki_logout_tokens_total{outcome=\"failed\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("gpki_logout_tokens_total{outcome=\"sent\"} 1"));
    assert!(metrics.contains("gpki_logout_tokens_pending 0"));
}

#[test]
fn a_portal_that_never_answers_is_given_up_and_audited() {
    let portal = Portal::start(vec![Answer::Fail; 100]);
    let server = start(Backend::Embedded, |c| {
        quick(c);
        c.backchannel_logout.retry_for_secs = 2;
    });
    let issuer = server.issuer(demo::SCHOOL);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &portal.url);
    let (b, tokens, _) = log_in(&server, "teacher");
    let hint = tokens["id_token"].as_str().unwrap();
    b.get(format!("{issuer}/logout?id_token_hint={hint}"))
        .send()
        .unwrap();
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let found = call(
            &server,
            Method::GET,
            "/schools/demo/audit?event=logout.token_given_up",
            Some(&gm),
            None,
        );
        if let Some(e) = found.body["items"].as_array().unwrap().first() {
            assert_eq!(e["client_id"], demo::CLIENT_ID);
            assert_eq!(e["detail"]["error"], "HTTP 500");
            break;
        }
        assert!(Instant::now() < until, "never given up");
        std::thread::sleep(Duration::from_millis(200));
    }
    let hits = *portal.hits.lock().unwrap();
    assert!(hits >= 2, "tried again before giving up ({hits})");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        *portal.hits.lock().unwrap(),
        hits,
        "not tried after giving up"
    );
    assert!(portal.tokens().is_empty());
}

/// Issue 17 #13: a completed login left the browser's previous session alive (a step-up's
/// lower session, or another account's on a shared staff-room PC) for its whole 8 hours, and
/// a logout ended only the new one. Now the new login replaces it: the old session ends, its
/// portal is told and its refresh token stops working.
#[test]
fn a_new_login_in_the_browser_ends_its_previous_session() {
    let portal = Portal::start(vec![]);
    let server = start(Backend::Embedded, quick);
    let issuer = server.issuer(demo::SCHOOL);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &portal.url);
    let (b, tokens, id) = log_in(&server, "teacher");
    let (before, _) = own_sessions(&server, &b);
    assert_eq!(before.len(), 1);
    // The same browser logs in again (prompt=login): here as another account, as on a
    // staff-room PC.
    let rp = server.portal().param("nonce", "n-2");
    let r = rp.password_login(&b, &[("prompt", "login")], "staff", demo::PASSWORD);
    let (status, _) = rp.exchange(&redirect_query(&r)["code"]);
    assert_eq!(status, 200);
    let told = portal.nth(1, Duration::from_secs(10));
    let claims = verify(&issuer, demo::CLIENT_ID, &told, &id);
    assert_eq!(
        claims["sub"], id["sub"],
        "the teacher's portal session ends"
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = server.portal().refresh(refresh);
    assert_eq!(status, 400, "the old session's refresh token ended: {body}");
    // The teacher's own browser list shows only the new session of the staff account.
    let (after, _) = own_sessions(&server, &b);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0]["id"], before[0]["id"]);
}

/// A portal's host name that resolves inside the network (here `localhost`) passes
/// registration, where no address is known yet, but the sender resolves it and refuses to
/// post there unless the operator listed the network: no token reaches the listener, and the
/// failure says why (attack round 3, server-side request forgery).
#[test]
fn a_name_that_resolves_inside_is_not_sent_to() {
    let portal = Portal::start(vec![]);
    let server = start(Backend::Embedded, |c| {
        quick(c);
        c.backchannel_logout.allowed_networks.clear();
    });
    let uri = portal.url.replace("127.0.0.1", "localhost");
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &uri);
    let (b, _, _) = log_in(&server, "teacher");
    let logout = format!("{}/logout", server.issuer(demo::SCHOOL));
    let page = b.get(&logout).send().unwrap();
    let csrf = hidden(&page.text().unwrap(), "csrf");
    let r = b
        .post(&logout)
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(portal.tokens().len(), 0, "posted inside the network");
    let queue = block_on(server.state.provider.logout_queue()).unwrap();
    assert_eq!(
        queue.pending, 1,
        "the token waits, refused, for its retries"
    );
}
