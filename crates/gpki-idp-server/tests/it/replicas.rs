//! Two `gpki-idp serve` processes on one PostgreSQL and one Redis, as behind a load balancer:
//! a login started on one finishes on the other, a key rotation is seen by both, a revoked
//! session is refused by both, and an OCSP verdict fetched by one serves the other. And a
//! process stopped with SIGTERM finishes the request it is serving.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gpki_idp_server::demo;
use gpki_idp_store::testing;
use gpki_testpki::{OcspBehaviour, RevocationServer};
use reqwest::blocking::Client as Http;
use serde_json::Value;

use crate::support::card::{self, card, card_at, pki, sign, signer};
use crate::support::http::{free_port, header_of};
use crate::support::process::Serve;
use crate::support::rp::{redirect_query, LoginForm};
use crate::support::{browser, Rp};

/// The shared configuration: one database, one Redis prefix, one public URL.
pub(crate) fn config(dir: &Path, public_url: &str, revocation_extra: &str) -> PathBuf {
    let p = pki();
    let text = format!(
        r#"public_url = "{public_url}"
database_url = "{db}"
redis_url = "{redis}"
redis_prefix = "gpki-replicas:{prefix}:"
[tokens]
key_cache_ttl_secs = 1
[certificate]
trust_anchors = ["{grca}"]
intermediates = ["{moica}"]
[certificate.revocation]
mode = "ocsp"
{revocation_extra}
[backchannel_logout]
allowed_networks = ["127.0.0.0/8"]
"#,
        db = testing::fresh_postgres_url(),
        redis = testing::redis_url(),
        prefix = gpki_idp_core::random_token(6),
        grca = p.dir.join("grca.pem").display(),
        moica = p.dir.join("moica.pem").display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// An address to listen on.
pub(crate) fn listen_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

pub(crate) fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gpki-idp"))
        .args(["admin", args[0], "--config"])
        .arg(config)
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The demo portal at replica `r`.
fn portal(r: &Serve) -> Rp {
    Rp::portal(&format!("{}/schools/{}", r.base, demo::SCHOOL))
}

/// The teacher's password on the login page of `form`, posted to `r`.
fn password(r: &Serve, b: &Http, form: &LoginForm) -> reqwest::blocking::Response {
    portal(r).submit_password(b, form, "teacher", demo::PASSWORD)
}

fn code_of(response: &reqwest::blocking::Response) -> String {
    redirect_query(response)["code"].clone()
}

fn exchange(r: &Serve, code: &str) -> Value {
    portal(r).exchange(code).1
}

fn kid_of(jwt: &str) -> String {
    header_of(jwt)["kid"].as_str().unwrap().to_string()
}

fn kids(r: &Serve) -> Vec<String> {
    let jwks: Value = Http::new()
        .get(format!("{}/jwks", portal(r).issuer()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// A card login of the teacher at `r`: (status, body).
fn card_login(r: &Serve, b: &Http, leaf: &gpki_testpki::Leaf) -> (u16, Value) {
    let rp = portal(r);
    let form = rp.login_page(b, &[]);
    rp.card_login(b, &form, "teacher", signer(leaf))
}

/// The teacher registers `leaf` at `r`.
pub(crate) fn register(r: &Serve, leaf: &gpki_testpki::Leaf) {
    let b = browser();
    let csrf = portal(r).log_in(&b, "teacher");
    let (status, body) = card::register(&portal(r), &b, &csrf, leaf);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn two_replicas_share_logins_keys_sessions_and_ocsp_verdicts() {
    let dir = std::env::temp_dir().join(format!("gpki-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen_a = listen_addr();
    let config = config(&dir, &format!("http://{listen_a}"), "");
    let a = Serve::start(&config, &listen_a, true);
    let b = Serve::start(&config, &listen_addr(), false);

    // A login started on A finishes on B; the code is exchanged at A.
    let user = browser();
    let form = portal(&a).login_page(&user, &[]);
    let done = password(&b, &user, &form);
    assert_eq!(done.status(), 302, "the pending login is shared");
    let tokens = exchange(&a, &code_of(&done));
    let old_kid = kid_of(tokens["id_token"].as_str().unwrap());

    // The browser's session is seen by both replicas.
    let again = portal(&b).authorize(&user, &[]);
    assert_eq!(
        again.status(),
        302,
        "B reuses the session made through B for A's request"
    );

    // A key rotation made elsewhere is seen by both within the key cache lifetime.
    let out = cli(
        &config,
        &["rotate-key", "--school", "demo", "--alg", "RS256"],
    );
    let new_kid = out.trim().rsplit(' ').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(kids(&a).contains(&new_kid) && kids(&b).contains(&new_kid)) {
        assert!(Instant::now() < deadline, "rotation not seen");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(kids(&a).contains(&old_kid), "the old key stays published");
    let fresh = browser();
    let form = portal(&b).login_page(&fresh, &[]);
    let signed = exchange(&b, &code_of(&password(&a, &fresh, &form)));
    assert_eq!(kid_of(signed["id_token"].as_str().unwrap()), new_kid);

    // A session ended through the admin API on A is refused by B.
    let secret = cli(
        &config,
        &[
            "create-client",
            "--school",
            "demo",
            "--client-id",
            "ops",
            "--name",
            "ops",
            "--grant",
            "client_credentials",
            "--scope",
            "admin",
        ],
    );
    let secret = secret.trim().rsplit(' ').next().unwrap().to_string();
    let (_, admin) = Rp::client(portal(&a).issuer(), "ops", &secret)
        .token(&[("grant_type", "client_credentials"), ("scope", "admin")]);
    let bearer = admin["access_token"].as_str().unwrap();
    let sessions: Value = Http::new()
        .get(format!("{}/admin/v1/schools/demo/sessions", b.base))
        .bearer_auth(bearer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for s in sessions["items"].as_array().unwrap() {
        let url = format!(
            "{}/admin/v1/schools/demo/sessions/{}",
            a.base,
            s["id"].as_str().unwrap()
        );
        let ended = Http::new().delete(url).bearer_auth(bearer).send().unwrap();
        assert_eq!(ended.status(), 204);
    }
    for r in [&a, &b] {
        let page = portal(r).authorize(&user, &[]);
        assert_eq!(page.status(), 200, "{}: must log in again", r.base);
    }

    // An OCSP verdict fetched by A serves B: the responder is asked once.
    let leaf = card(0x2e91);
    register(&a, &leaf);
    let (status, body) = card_login(&b, &browser(), &leaf);
    assert_eq!(status, 200, "{body}");
    let metrics = Http::new()
        .get(format!("{}/metrics", b.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("gpki_revocation_events{event=\"ocsp_shared_hits\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gpki_revocation_events{event=\"ocsp_fetches\"} 0"),
        "B never asked the responder: {metrics}"
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let dir = std::env::temp_dir().join(format!("gpki-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen = listen_addr();
    // No OCSP cache: the login below must wait for the (slow) responder.
    let config = config(&dir, &format!("http://{listen}"), "ocsp_cache_ttl_secs = 0");
    let mut replica = Serve::start(&config, &listen, true);
    // A responder of this test alone: the other card tests of the binary keep theirs fast.
    let responder = RevocationServer::start(&pki().pki, &pki().pki.moica);
    let leaf = card_at(0x2e92, &responder);
    register(&replica, &leaf);

    // The responder takes 2 s: the card login is in flight when SIGTERM arrives.
    responder.set_ocsp(OcspBehaviour {
        delay: Duration::from_secs(2),
        ..OcspBehaviour::default()
    });
    let b = browser();
    let rp = portal(&replica);
    let form = rp.login_page(&b, &[]);
    let challenge = rp.card_challenge(&b, &form);
    let signature = sign(&leaf, &challenge, &challenge);
    let request = rp.card_request(&b, &form, "teacher", &challenge, &signature);
    let in_flight = std::thread::spawn(move || {
        let r = request.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    });
    std::thread::sleep(Duration::from_millis(700));
    replica.sigterm();
    let (status, body) = in_flight.join().unwrap();
    responder.set_ocsp(OcspBehaviour::default());
    assert_eq!(status, 200, "the login in flight finished: {body}");
    assert!(body["redirect"].as_str().unwrap().contains("code="));
    let exit = replica.child.wait().unwrap();
    assert!(exit.success(), "a clean exit after SIGTERM: {exit}");
    assert!(
        Http::new()
            .get(format!("{}/healthz", replica.base))
            .send()
            .is_err(),
        "no new connections after shutdown"
    );
}
