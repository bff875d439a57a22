//! Behind a TLS-terminating reverse proxy: the scheme a trusted proxy reports is honoured
//! (plain http is sent to https or refused), HSTS and `Secure` cookies go with an https public
//! URL, and a peer that is not a trusted proxy cannot forge the scheme.

use reqwest::blocking::Response;
use reqwest::StatusCode;

use crate::support::http::urlencode;
use crate::support::{browser, start, Backend, TestServer};

const PUBLIC: &str = "https://idp.example.edu.tw";

fn behind_proxy(trusted: &[&str]) -> TestServer {
    let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
    start(Backend::Embedded, move |c| {
        c.public_url = Some(PUBLIC.into());
        c.trusted_proxies = trusted;
    })
}

fn discovery(server: &TestServer) -> String {
    format!(
        "{}/schools/demo/.well-known/openid-configuration",
        server.base
    )
}

/// A 308 to `location`.
fn assert_redirect(r: &Response, location: &str) {
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers()["location"], location);
}

/// A request as the proxy forwards it: `X-Forwarded-Proto: proto`.
fn via_proxy(request: reqwest::blocking::RequestBuilder, proto: &str) -> Response {
    request.header("X-Forwarded-Proto", proto).send().unwrap()
}

#[test]
fn plain_http_through_the_proxy_goes_to_https() {
    let server = behind_proxy(&["127.0.0.1"]);
    let http = browser();
    let discovery = format!(
        "{}/schools/demo/.well-known/openid-configuration?x=1",
        server.base
    );

    let r = via_proxy(http.get(&discovery), "http");
    assert_redirect(
        &r,
        "https://idp.example.edu.tw/schools/demo/.well-known/openid-configuration?x=1",
    );

    // A form post over plain http is refused, not redirected: its content crossed in clear.
    let r = via_proxy(
        http.post(format!("{}/schools/demo/token", server.base))
            .form(&[("grant_type", "authorization_code"), ("code", "x")]),
        "http",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"], "https_required");

    let r = via_proxy(http.head(&discovery), "http");
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT, "HEAD too");

    // The Location stays on our host whatever the path looks like.
    let r = via_proxy(http.get(format!("{}//evil.example/x", server.base)), "http");
    assert_redirect(&r, "https://idp.example.edu.tw//evil.example/x");

    // A GET with a bearer token is refused: the token already crossed in clear.
    let r = via_proxy(
        http.get(format!("{}/schools/demo/userinfo", server.base))
            .bearer_auth("some-token"),
        "http",
    );
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"], "https_required");
    assert!(body["message_zh"].as_str().unwrap().contains("HTTPS"));

    // Health probes and scrapes through the proxy are answered as they are.
    let r = via_proxy(http.get(format!("{}/healthz", server.base)), "http");
    assert_eq!(r.status(), StatusCode::OK);

    // RFC 7239 `Forwarded` is read too.
    let r = http
        .get(&discovery)
        .header("Forwarded", "for=198.51.100.7;proto=http")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
}

#[test]
fn https_through_the_proxy_is_served_with_hsts_and_secure_cookies() {
    let server = behind_proxy(&["127.0.0.0/8"]);
    let http = browser();
    let r = via_proxy(http.get(discovery(&server)), "https");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let doc: serde_json::Value = r.json().unwrap();
    assert_eq!(doc["issuer"], "https://idp.example.edu.tw/schools/demo");

    let authorize = format!(
        "{}/schools/demo/authorize?response_type=code&client_id=demo-portal&redirect_uri={}&scope=openid&state=s&lang=en",
        server.base,
        urlencode("http://127.0.0.1:9000/callback")
    );
    let r = via_proxy(http.get(authorize), "https");
    assert_eq!(r.status(), StatusCode::OK, "login page");
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
    assert!(cookies.len() >= 2, "csrf and language cookies: {cookies:?}");
    for cookie in cookies {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }

    // Probes reach the pod directly, without the proxy's headers.
    let r = http.get(format!("{}/healthz", server.base)).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn an_http_public_url_ignores_the_forwarded_scheme() {
    // A trial set-up without TLS: nothing to redirect to, no HSTS.
    let server = start(Backend::Embedded, |c| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
    });
    let r = via_proxy(browser().get(discovery(&server)), "http");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[test]
fn a_stranger_cannot_forge_the_scheme() {
    // 127.0.0.1 is not a trusted proxy here: its X-Forwarded-Proto means nothing.
    let server = behind_proxy(&["10.0.0.0/8"]);
    let r = via_proxy(browser().get(discovery(&server)), "http");
    assert_eq!(r.status(), StatusCode::OK);
}
