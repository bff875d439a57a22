//! Two `gpki-idp serve` processes on one PostgreSQL and one Redis, as behind a load balancer:
//! a login started on one finishes on the other, a key rotation is seen by both, a revoked
//! session is refused by both, and an OCSP verdict fetched by one serves the other. And a
//! process stopped with SIGTERM finishes the request it is serving.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::browser;
use common::card::{card, pki, sign, REDIRECT};
use gpki_idp_server::demo;
use gpki_idp_store::testing;
use gpki_testpki::OcspBehaviour;
use reqwest::blocking::Client as Http;
use serde_json::Value;

/// A running `gpki-idp serve`; killed when dropped.
struct Replica {
    child: Child,
    /// Where this process listens (the public URL is shared by all replicas).
    addr: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared configuration: one database, one Redis prefix, one public URL.
fn config(dir: &Path, public_url: &str, revocation_extra: &str) -> PathBuf {
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

fn start(config: &Path, listen: &str, demo: bool) -> Replica {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpki-idp"));
    cmd.args(["serve", "--config"])
        .arg(config)
        .args(["--listen", listen, "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().expect("gpki-idp starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("gpki-idp listening on ") {
                let _ = tx.send(rest.split(' ').next().unwrap_or_default().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("gpki-idp listens");
    Replica {
        child,
        addr: format!("http://{addr}"),
    }
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn cli(config: &Path, args: &[&str]) -> String {
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

fn issuer(r: &Replica) -> String {
    format!("{}/schools/{}", r.addr, demo::SCHOOL)
}

/// The demo portal's authorization request at `r`.
fn authorize(r: &Replica, b: &Http) -> reqwest::blocking::Response {
    b.get(format!("{}/authorize", issuer(r)))
        .query(&[
            ("response_type", "code"),
            ("client_id", demo::CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
        ])
        .send()
        .unwrap()
}

/// The login page at `r` for the demo portal: (req, csrf).
fn login_page(r: &Replica, b: &Http) -> (String, String) {
    let html = authorize(r, b).text().unwrap();
    (common::hidden(&html, "req"), common::hidden(&html, "csrf"))
}

fn password(r: &Replica, b: &Http, req: &str, csrf: &str) -> reqwest::blocking::Response {
    let form = [
        ("req", req),
        ("csrf", csrf),
        ("username", "teacher"),
        ("password", demo::PASSWORD),
    ];
    b.post(format!("{}/login", issuer(r)))
        .form(&form)
        .send()
        .unwrap()
}

fn code_of(response: &reqwest::blocking::Response) -> String {
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    q["code"].clone()
}

fn exchange(r: &Replica, code: &str) -> Value {
    Http::new()
        .post(format!("{}/token", issuer(r)))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn kids(r: &Replica) -> Vec<String> {
    let jwks: Value = Http::new()
        .get(format!("{}/jwks", issuer(r)))
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

/// The form of a card login of the teacher at `r`: a login page, a challenge, the card's
/// signature over it.
fn card_form(r: &Replica, b: &Http, leaf: &gpki_testpki::Leaf) -> Vec<(&'static str, String)> {
    let (req, csrf) = login_page(r, b);
    let ch: Value = b
        .post(format!("{}/login/card/challenge", issuer(r)))
        .form(&[("req", &req), ("csrf", &csrf)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let challenge = ch["challenge"].as_str().unwrap().to_string();
    let signature = sign(leaf, &challenge, &challenge);
    vec![
        ("req", req),
        ("csrf", csrf),
        ("username", "teacher".into()),
        ("challenge", challenge),
        ("signature", signature),
    ]
}

/// A card login of the teacher at `r`: (status, body).
fn card_login(r: &Replica, b: &Http, leaf: &gpki_testpki::Leaf) -> (u16, Value) {
    let form = card_form(r, b, leaf);
    let response = b
        .post(format!("{}/login/card", issuer(r)))
        .form(&form)
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

fn register(r: &Replica, leaf: &gpki_testpki::Leaf) {
    let b = browser();
    let (req, csrf) = login_page(r, &b);
    assert_eq!(password(r, &b, &req, &csrf).status(), 302);
    let ch: Value = b
        .post(format!("{}/account/card/challenge", issuer(r)))
        .form(&[("csrf", &csrf)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let challenge = ch["challenge"].as_str().unwrap().to_string();
    let signature = sign(leaf, &challenge, &challenge);
    let done = b
        .post(format!("{}/account/card", issuer(r)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("challenge", &challenge),
            ("signature", &signature),
        ])
        .send()
        .unwrap();
    assert_eq!(done.status(), 201);
}

#[test]
fn two_replicas_share_logins_keys_sessions_and_ocsp_verdicts() {
    let dir = std::env::temp_dir().join(format!("gpki-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen_a = free_port();
    let config = config(&dir, &format!("http://{listen_a}"), "");
    let a = start(&config, &listen_a, true);
    let b = start(&config, &free_port(), false);

    // A login started on A finishes on B; the code is exchanged at A.
    let user = browser();
    let (req, csrf) = login_page(&a, &user);
    let done = password(&b, &user, &req, &csrf);
    assert_eq!(done.status(), 302, "the pending login is shared");
    let tokens = exchange(&a, &code_of(&done));
    let old_kid = kid_of(tokens["id_token"].as_str().unwrap());

    // The browser's session is seen by both replicas.
    let again = authorize(&b, &user);
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
    let (req, csrf) = login_page(&b, &fresh);
    let signed = exchange(&b, &code_of(&password(&a, &fresh, &req, &csrf)));
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
    let admin: Value = Http::new()
        .post(format!("{}/token", issuer(&a)))
        .basic_auth("ops", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let bearer = admin["access_token"].as_str().unwrap();
    let sessions: Value = Http::new()
        .get(format!("{}/admin/v1/schools/demo/sessions", b.addr))
        .bearer_auth(bearer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for s in sessions["items"].as_array().unwrap() {
        let url = format!(
            "{}/admin/v1/schools/demo/sessions/{}",
            a.addr,
            s["id"].as_str().unwrap()
        );
        let ended = Http::new().delete(url).bearer_auth(bearer).send().unwrap();
        assert_eq!(ended.status(), 204);
    }
    for r in [&a, &b] {
        let page = authorize(r, &user);
        assert_eq!(page.status(), 200, "{}: must log in again", r.addr);
    }

    // An OCSP verdict fetched by A serves B: the responder is asked once.
    let leaf = card(0x2e91);
    register(&a, &leaf);
    let (status, body) = card_login(&b, &browser(), &leaf);
    assert_eq!(status, 200, "{body}");
    let metrics = Http::new()
        .get(format!("{}/metrics", b.addr))
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
    let listen = free_port();
    // No OCSP cache: the login below must wait for the (slow) responder.
    let config = config(&dir, &format!("http://{listen}"), "ocsp_cache_ttl_secs = 0");
    let mut replica = start(&config, &listen, true);
    let leaf = card(0x2e92);
    register(&replica, &leaf);

    // The responder takes 2 s: the card login is in flight when SIGTERM arrives.
    pki().ocsp.set_ocsp(OcspBehaviour {
        delay: Duration::from_secs(2),
        ..OcspBehaviour::default()
    });
    let b = browser();
    let form = card_form(&replica, &b, &leaf);
    let url = format!("{}/login/card", issuer(&replica));
    let in_flight = std::thread::spawn(move || {
        let r = b.post(url).form(&form).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    });
    std::thread::sleep(Duration::from_millis(700));
    let pid = replica.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, body) = in_flight.join().unwrap();
    pki().ocsp.set_ocsp(OcspBehaviour::default());
    assert_eq!(status, 200, "the login in flight finished: {body}");
    assert!(body["redirect"].as_str().unwrap().contains("code="));
    let exit = replica.child.wait().unwrap();
    assert!(exit.success(), "a clean exit after SIGTERM: {exit}");
    assert!(
        Http::new()
            .get(format!("{}/healthz", replica.addr))
            .send()
            .is_err(),
        "no new connections after shutdown"
    );
}
