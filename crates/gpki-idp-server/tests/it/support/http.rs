//! HTTP clients as the tests use them, and the small readers of what comes back: a page's
//! hidden field, a JWT's header and claims, a JSON answer.

use base64::Engine;
use reqwest::blocking::{Client as Http, Response};
use serde_json::Value;

/// A plain HTTP client that never follows redirects.
pub fn http() -> Http {
    reqwest::blocking::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: keeps cookies, never follows redirects.
pub fn browser() -> Http {
    reqwest::blocking::ClientBuilder::new()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden form field of a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Posts a form; the status and the JSON answer (null when it is not JSON).
pub fn post(b: &Http, url: String, form: &[(&str, &str)]) -> (u16, Value) {
    status_json(b.post(url).form(form).send().unwrap())
}

/// The status and the JSON body of an answer (null when it is not JSON).
pub fn status_json(r: Response) -> (u16, Value) {
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// The claims of a JWT, unverified.
pub fn claims_of(jwt: &str) -> Value {
    jwt_part(jwt, 1)
}

/// The header of a JWT.
pub fn header_of(jwt: &str) -> Value {
    jwt_part(jwt, 0)
}

fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
