//! Cards for tests: a test PKI with an OCSP responder, citizen certificates, real CMS
//! signatures over challenges (what the card simulator's signing service returns), and the
//! pages' JSON calls for registration and login.

use std::sync::OnceLock;

use base64::Engine;
use gpki_testpki::{sign_cms, CmsOptions, Leaf, LeafSpec, RevocationServer, TestPki};
use reqwest::blocking::Client as Http;
use serde_json::Value;

use super::http::post;
use super::rp::Rp;
use gpki_idp_server::config::Config;

use super::server::{start, Backend, TestServer};

pub struct Pki {
    pub pki: TestPki,
    pub ocsp: RevocationServer,
    pub dir: std::path::PathBuf,
}

/// The test PKI of the binary and its shared OCSP responder. A test that changes how a
/// responder answers (down, slow) starts one of its own: every other card test asks this one.
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

/// A citizen certificate whose revocation the shared responder answers.
pub fn card(serial: u64) -> Leaf {
    card_at(serial, &pki().ocsp)
}

/// A citizen certificate whose revocation `responder` answers.
pub fn card_at(serial: u64, responder: &RevocationServer) -> Leaf {
    pki().pki.issue_leaf(&LeafSpec {
        serial,
        ocsp_url: Some(responder.ocsp_url()),
        ..LeafSpec::default()
    })
}

/// A test server that trusts the test PKI and asks OCSP at every card login.
pub fn server() -> TestServer {
    server_tweaked(|_| {})
}

/// [`server`] with more of the configuration changed.
pub fn server_tweaked(tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestServer {
    let dir = pki().dir.clone();
    start(Backend::Embedded, move |c| {
        c.certificate.trust_anchors = vec![dir.join("grca.pem")];
        c.certificate.intermediates = vec![dir.join("moica.pem")];
        c.certificate.revocation.mode = "ocsp".into();
        // Every login asks the responder, so a revocation shows at once in these tests.
        c.certificate.revocation.ocsp_cache_ttl_secs = 0;
        tweak(c);
    })
}

/// The demo portal as the card tests open it (profile, state `card`, a nonce).
pub fn portal(server: &TestServer) -> Rp {
    server
        .portal()
        .scope("openid profile")
        .param("state", "card")
        .param("nonce", "n-0S6_WzA2Mj")
}

/// What the local signing service returns for `content`, as base64 PKCS#7.
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

/// The card's answer to a challenge, as the page passes it on.
pub fn signer(leaf: &Leaf) -> impl Fn(&str) -> String + '_ {
    move |challenge| sign(leaf, challenge, challenge)
}

/// Registers `leaf` for the account logged in in `b` (at `rp`'s school): (status, body).
pub fn register(rp: &Rp, b: &Http, csrf: &str, leaf: &Leaf) -> (u16, Value) {
    register_with(rp, b, csrf, leaf, &[])
}

/// The same with more form fields (an enrollment code).
pub fn register_with(
    rp: &Rp,
    b: &Http,
    csrf: &str,
    leaf: &Leaf,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let issuer = rp.issuer();
    let (status, ch) = post(
        b,
        format!("{issuer}/account/card/challenge"),
        &[("csrf", csrf)],
    );
    assert_eq!(status, 200, "{ch}");
    let challenge = ch["challenge"].as_str().unwrap().to_string();
    let signature = sign(leaf, &challenge, &challenge);
    let mut form = vec![
        ("csrf", csrf),
        ("challenge", challenge.as_str()),
        ("signature", signature.as_str()),
    ];
    form.extend_from_slice(extra);
    post(b, format!("{issuer}/account/card"), &form)
}

/// A card login attempt at the demo portal's login page, the card signing what `tamper`
/// makes of the challenge: (status, body).
pub fn card_login(
    server: &TestServer,
    b: &Http,
    username: &str,
    leaf: &Leaf,
    tamper: impl Fn(&str) -> String,
) -> (u16, Value) {
    let rp = portal(server);
    let form = rp.login_page(b, &[]);
    rp.card_login(b, &form, username, |challenge| {
        let signed = tamper(challenge);
        sign(leaf, &signed, &signed)
    })
}

/// The demo teacher logged in in `b` with the password; the browser's CSRF value.
pub fn password_login(server: &TestServer, b: &Http) -> String {
    portal(server).log_in(b, "teacher")
}

/// A server where the teacher has registered `leaf`.
pub fn server_with(leaf: &Leaf) -> TestServer {
    let server = server();
    let b = super::http::browser();
    let csrf = password_login(&server, &b);
    let (status, body) = register(&portal(&server), &b, &csrf, leaf);
    assert_eq!(status, 201, "{body}");
    server
}
