//! The admin API as its clients call it: service clients and their tokens, the district
//! tenant, calls with a bearer token (JSON, CSV, raw bytes) and their answers.

use gpki_idp_server::http::admin::PREFIX;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::Value;

use super::rp::Rp;
use super::server::{block_on, new_client, TestServer};

/// An answer of the admin API.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn of(response: reqwest::blocking::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }
}

/// A client of `school` allowed `scopes`, made as an operator would; returns its secret.
pub fn service_client(
    server: &TestServer,
    school: &str,
    client_id: &str,
    scopes: &[&str],
) -> String {
    let provider = &server.state.provider;
    let school = block_on(provider.directory().school_by_code(school))
        .unwrap()
        .unwrap();
    let secret = format!("secret-of-{client_id}");
    let mut client = new_client(&school, client_id, Some(&secret));
    client.grant_types = vec!["client_credentials".into(), "authorization_code".into()];
    client
        .allowed_scopes
        .extend(scopes.iter().map(|s| s.to_string()));
    block_on(provider.directory().create_client(client)).unwrap();
    secret
}

/// A client_credentials token of `client_id` at `school` for `scope`: (status, body).
pub fn client_token(
    server: &TestServer,
    school: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> (u16, Value) {
    Rp::client(&server.issuer(school), client_id, secret)
        .token(&[("grant_type", "client_credentials"), ("scope", scope)])
}

/// A new service client's access token with `scopes`.
pub fn token(server: &TestServer, school: &str, client_id: &str, scopes: &[&str]) -> String {
    let secret = service_client(server, school, client_id, scopes);
    let (status, body) = client_token(server, school, client_id, &secret, &scopes.join(" "));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// The district tenant, with an operator's token.
pub fn district_token(server: &TestServer) -> String {
    let provider = &server.state.provider;
    let school = block_on(provider.directory().create_school("district", "教育局")).unwrap();
    block_on(
        provider
            .directory()
            .update_school(school.id, None, None, Some(true)),
    )
    .unwrap();
    block_on(provider.ensure_keys(&school)).unwrap();
    token(server, "district", "ops", &["district"])
}

pub fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Answer {
    call_with(server, method, path, bearer, body, &[])
}

pub fn call_with(
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
    Answer::of(r.send().unwrap())
}

/// A PUT with `If-Match: tag`.
pub fn put_if_match(
    server: &TestServer,
    path: &str,
    bearer: &str,
    body: Value,
    tag: &str,
) -> Answer {
    call_with(
        server,
        Method::PUT,
        path,
        Some(bearer),
        Some(body),
        &[("If-Match", tag)],
    )
}

/// A POST or PUT of a body that is not JSON (CSV, XML, an image) as `kind`.
pub fn send_raw(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: &str,
    kind: &str,
    body: Vec<u8>,
) -> Answer {
    let r = Http::new()
        .request(method, format!("{}{PREFIX}{path}", server.base))
        .bearer_auth(bearer)
        .header("Content-Type", kind)
        .body(body)
        .send()
        .unwrap();
    Answer::of(r)
}

/// The number of audit events of `school`.
pub fn audit_count(server: &TestServer, school: &str) -> usize {
    let provider = &server.state.provider;
    let school = block_on(provider.directory().school_by_code(school))
        .unwrap()
        .unwrap();
    block_on(provider.directory().audit_events(school.id, 0, 10_000))
        .unwrap()
        .len()
}
