//! The school's colour and logo through the API.

use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin::{call, send_raw};
use crate::support::TestServer;

/// A PUT of raw bytes (the logo): the status.
fn put_bytes(server: &TestServer, path: &str, bearer: &str, kind: &str, bytes: Vec<u8>) -> u16 {
    send_raw(server, Method::PUT, path, bearer, kind, bytes).status
}

/// The school's colour and logo: set by the GM, checked, audited, shown on the login page.
pub(super) fn branding(server: &TestServer, gm: &str) {
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
    let auth = server.portal().authorize_url(&[]);
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
