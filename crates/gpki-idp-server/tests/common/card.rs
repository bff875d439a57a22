//! Cards for tests: a test PKI with an OCSP responder, citizen certificates, real CMS
//! signatures over challenges, and the page's JSON calls for login and registration.

#![allow(dead_code)]

use std::sync::OnceLock;

use base64::Engine;
use gpki_idp_server::demo;
use gpki_testpki::{sign_cms, CmsOptions, Leaf, LeafSpec, RevocationServer, TestPki};
use reqwest::blocking::Client as Http;
use serde_json::Value;

use super::{hidden, start, Backend, TestServer};

pub const REDIRECT: &str = "http://127.0.0.1:9000/callback";

pub struct Pki {
    pub pki: TestPki,
    pub ocsp: RevocationServer,
    pub dir: std::path::PathBuf,
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = TestPki::generate();
        let ocsp = RevocationServer::start(&pki, &pki.moica);
        let dir = std::env::temp_dir().join(format!("gpki-card-login-{}", std::process::id()));
        pki.save(&dir).unwrap();
        Pki { pki, ocsp, dir }
    })
}

pub fn card(serial: u64) -> Leaf {
    let p = pki();
    p.pki.issue_leaf(&LeafSpec {
        serial,
        ocsp_url: Some(p.ocsp.ocsp_url()),
        ..LeafSpec::default()
    })
}

pub fn server() -> TestServer {
    let dir = pki().dir.clone();
    start(Backend::Embedded, move |c| {
        c.certificate.trust_anchors = vec![dir.join("grca.pem")];
        c.certificate.intermediates = vec![dir.join("moica.pem")];
        c.certificate.revocation.mode = "ocsp".into();
        // Every login asks the responder, so a revocation shows at once in these tests.
        c.certificate.revocation.ocsp_cache_ttl_secs = 0;
    })
}

/// Opens the login page for the demo portal; returns (req, csrf).
pub fn login_page(server: &TestServer, b: &Http) -> (String, String) {
    let mut url = url::Url::parse(&format!("{}/authorize", server.issuer(demo::SCHOOL))).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", demo::CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair("state", "card")
        .append_pair("nonce", "n-0S6_WzA2Mj");
    let html = b.get(url).send().unwrap().text().unwrap();
    (hidden(&html, "req"), hidden(&html, "csrf"))
}

pub fn post(b: &Http, url: String, form: &[(&str, &str)]) -> (u16, Value) {
    let r = b.post(url).form(form).send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// What the local signing service returns for `challenge`, as base64 PKCS#7.
pub fn sign(leaf: &Leaf, content: &str, nonce: &str) -> String {
    let cms = sign_cms(
        &[leaf],
        content.as_bytes(),
        &CmsOptions {
            nonce: Some(nonce.as_bytes().to_vec()),
            ..CmsOptions::default()
        },
    );
    base64::engine::general_purpose::STANDARD.encode(cms)
}

pub fn password_login(server: &TestServer, b: &Http) -> String {
    password_login_as(server, b, "teacher")
}

/// Logs `username` of the demo school in with the demo password; returns the CSRF value.
pub fn password_login_as(server: &TestServer, b: &Http, username: &str) -> String {
    let (req, csrf) = login_page(server, b);
    let form = [
        ("req", req.as_str()),
        ("csrf", csrf.as_str()),
        ("username", username),
        ("password", demo::PASSWORD),
    ];
    let r = b
        .post(format!("{}/login", server.issuer(demo::SCHOOL)))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 302);
    csrf
}

pub fn register(server: &TestServer, b: &Http, csrf: &str, leaf: &Leaf) -> (u16, Value) {
    let issuer = server.issuer(demo::SCHOOL);
    let (status, ch) = post(
        b,
        format!("{issuer}/account/card/challenge"),
        &[("csrf", csrf)],
    );
    assert_eq!(status, 200, "{ch}");
    let challenge = ch["challenge"].as_str().unwrap().to_string();
    let signature = sign(leaf, &challenge, &challenge);
    post(
        b,
        format!("{issuer}/account/card"),
        &[
            ("csrf", csrf),
            ("challenge", &challenge),
            ("signature", &signature),
        ],
    )
}

/// A card login attempt: returns (status, body).
pub fn card_login(
    server: &TestServer,
    b: &Http,
    username: &str,
    leaf: &Leaf,
    tamper: impl Fn(&str) -> String,
) -> (u16, Value) {
    let issuer = server.issuer(demo::SCHOOL);
    let (req, csrf) = login_page(server, b);
    let (_, ch) = post(
        b,
        format!("{issuer}/login/card/challenge"),
        &[("req", &req), ("csrf", &csrf)],
    );
    let challenge = ch["challenge"].as_str().unwrap().to_string();
    let signed = tamper(&challenge);
    let signature = sign(leaf, &signed, &signed);
    post(
        b,
        format!("{issuer}/login/card"),
        &[
            ("req", &req),
            ("csrf", &csrf),
            ("username", username),
            ("challenge", &challenge),
            ("signature", &signature),
        ],
    )
}

pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
