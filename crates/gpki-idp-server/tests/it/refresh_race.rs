//! A refresh token presented by its owner and by a thief at the same moment (issue 17 #14).
//! Rotation lets one of them have the successor; whether the other is a client retrying a
//! lost answer (the grace window) or a replay (the family ends) is decided in the same
//! transaction that rotates, so no interleaving lets the thief keep a live token unnoticed:
//! - with the window at 0, every race ends the family, and so does a replay in the same
//!   second;
//! - a public client (no client authentication) never gets the window;
//! - with a window, a replay after the successor was used ends the family;
//! - the same across two replicas on one PostgreSQL and one Redis.

use std::path::Path;
use std::sync::{Arc, Barrier};

use gpki_idp_server::demo;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin;
use crate::support::http::free_port;
use crate::support::process::{temp_dir, Serve};
use crate::support::rp::{pkce, redirect_query};
use crate::support::server::PUBLIC_CLIENT;
use crate::support::{browser, start, Backend, Rp, TestServer};

/// Races per test: the issue saw the replay get through in 8 to 11 of 12.
const ROUNDS: usize = 12;

type Answer = (u16, Value);

/// A new family: the teacher's password login through `rp` (with PKCE for a public client);
/// its first refresh token.
fn family(rp: &Rp, public: bool) -> String {
    let b = browser();
    let (challenge, verifier) = pkce();
    let extra: Vec<(&str, &str)> = if public {
        vec![
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]
    } else {
        vec![]
    };
    let r = rp.password_login(&b, &extra, "teacher", demo::PASSWORD);
    let code = redirect_query(&r)["code"].clone();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", crate::support::REDIRECT),
    ];
    if public {
        form.extend([("client_id", PUBLIC_CLIENT), ("code_verifier", &verifier)]);
    }
    let (status, tokens) = rp.token(&form);
    assert_eq!(status, 200, "{tokens}");
    tokens["refresh_token"].as_str().unwrap().to_string()
}

/// Two refresh grants sent at the same moment: (rp, token) each; their answers in order.
fn race(a: (&Rp, &str), b: (&Rp, &str)) -> (Answer, Answer) {
    let gate = Arc::new(Barrier::new(2));
    let go = |rp: &Rp, token: &str| {
        let (rp, token, gate) = (rp.clone(), token.to_string(), gate.clone());
        std::thread::spawn(move || {
            gate.wait();
            rp.refresh(&token)
        })
    };
    let (ta, tb) = (go(a.0, a.1), go(b.0, b.1));
    (ta.join().unwrap(), tb.join().unwrap())
}

fn refresh_token(answer: &Answer) -> Option<String> {
    (answer.0 == 200).then(|| answer.1["refresh_token"].as_str().unwrap().to_string())
}

/// The tokens a race handed out that still refresh (each tried once).
fn still_alive(rp: &Rp, handed_out: &[Option<String>]) -> Vec<String> {
    handed_out
        .iter()
        .flatten()
        .filter(|t| rp.refresh(t).0 == 200)
        .cloned()
        .collect()
}

/// `ROUNDS` races of the owner and a thief presenting the family's first token at once
/// (through `owner` and `thief`, which may be two replicas): the rounds after which a token
/// either of them was given still works, with what each was answered.
fn races_survived(owner: &Rp, thief: &Rp, public: bool) -> Vec<String> {
    let mut survived = Vec::new();
    for round in 0..ROUNDS {
        let first = family(owner, public);
        let (o, t) = race((owner, &first), (thief, &first));
        let handed = [refresh_token(&o), refresh_token(&t)];
        let alive = still_alive(owner, &handed);
        if !alive.is_empty() || handed.iter().all(Option::is_some) {
            survived.push(format!("round {round}: owner {} thief {}", o.0, t.0));
        }
        for a in [&o, &t].into_iter().filter(|a| a.0 != 200) {
            assert_eq!(a.1["error"], "invalid_grant", "{}", a.1);
        }
    }
    survived
}

/// A replay in the same second as the rotation ends the family.
fn same_second_replay_ends_the_family(rp: &Rp, public: bool) {
    let first = family(rp, public);
    let (status, rotated) = rp.refresh(&first);
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap();
    let (status, replay) = rp.refresh(&first);
    assert_eq!(
        (status, &replay["error"]),
        (400, &Value::from("invalid_grant"))
    );
    assert_eq!(
        rp.refresh(second).0,
        400,
        "the family ended with the replay"
    );
}

fn without_grace(backend: Backend) {
    let server = start(backend, |c| c.tokens.refresh_reuse_grace_secs = 0);
    let portal = server.portal();
    same_second_replay_ends_the_family(&portal, false);
    let survived = races_survived(&portal, &portal, false);
    assert!(survived.is_empty(), "the family lived on: {survived:?}");
}

#[test]
fn without_grace_every_race_ends_the_family_sqlite() {
    without_grace(Backend::Embedded);
}

#[test]
fn without_grace_every_race_ends_the_family_postgres_redis() {
    without_grace(Backend::Real);
}

/// The service's window is 60 s, but a public client has no credentials to prove that the
/// second presenter is the client retrying: it gets no window.
fn public_client(backend: Backend) {
    let server = start(backend, |c| c.tokens.refresh_reuse_grace_secs = 60);
    let spa = Rp::public(&server.issuer(demo::SCHOOL));
    same_second_replay_ends_the_family(&spa, true);
    let survived = races_survived(&spa, &spa, true);
    assert!(survived.is_empty(), "the family lived on: {survived:?}");
}

#[test]
fn a_public_client_gets_no_grace_sqlite() {
    public_client(Backend::Embedded);
}

#[test]
fn a_public_client_gets_no_grace_postgres_redis() {
    public_client(Backend::Real);
}

/// A confidential client registered through the admin API with its own window (0: none),
/// as a GM would: its secret.
fn client_with_window(server: &TestServer, client_id: &str, window: i64) -> Rp {
    let gm = admin::token(server, demo::SCHOOL, "gm-console", &["admin"]);
    let body = json!({
        "client_id": client_id,
        "name": client_id,
        "redirect_uris": [crate::support::REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "require_pkce": false,
        "refresh_reuse_grace_secs": window,
    });
    let path = "/schools/demo/clients";
    let made = admin::call(server, Method::POST, path, Some(&gm), Some(body));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["refresh_reuse_grace_secs"], window);
    let secret = made.body["client_secret"].as_str().unwrap();
    let shown = admin::call(
        server,
        Method::GET,
        &format!("{path}/{client_id}"),
        Some(&gm),
        None,
    );
    assert_eq!(shown.body["refresh_reuse_grace_secs"], window);
    // A public client proves nothing at the token endpoint: no window for it.
    let public = json!({
        "name": "spa", "public_client": true, "redirect_uris": [crate::support::REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"], "refresh_reuse_grace_secs": 10,
    });
    let refused = admin::call(server, Method::POST, path, Some(&gm), Some(public));
    assert_eq!(refused.status, 400, "{}", refused.body);
    Rp::client(&server.issuer(demo::SCHOOL), client_id, secret)
}

/// With a window: the retry of a lost answer gets the same successor; a replay once the
/// successor was used ends the family, also when it races the successor's use; and a client
/// whose registration sets the window to 0 has none, whatever the service's default.
fn with_grace(backend: Backend) {
    let server = start(backend, |c| c.tokens.refresh_reuse_grace_secs = 60);
    let portal = server.portal();
    let first = family(&portal, false);
    let (_, rotated) = portal.refresh(&first);
    let second = rotated["refresh_token"].as_str().unwrap().to_string();
    let (status, retried) = portal.refresh(&first);
    assert_eq!(status, 200, "a retry within the window: {retried}");
    assert_eq!(retried["refresh_token"], rotated["refresh_token"]);
    let (_, next) = portal.refresh(&second);
    let third = next["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(portal.refresh(&first).0, 400, "the successor was used");
    assert_eq!(portal.refresh(&third).0, 400, "the family ended");

    // The owner uses the successor while the thief replays the first token: either the
    // thief came first (a retry: it gets the successor the owner holds), or the family ends.
    let mut lived = Vec::new();
    for round in 0..ROUNDS {
        let first = family(&portal, false);
        let (_, rotated) = portal.refresh(&first);
        let second = rotated["refresh_token"].as_str().unwrap().to_string();
        let (o, t) = race((&portal, &second), (&portal, &first));
        match refresh_token(&t) {
            Some(got) => assert_eq!(got, second, "a retry gets the successor, nothing else"),
            None => {
                let alive = still_alive(&portal, &[refresh_token(&o)]);
                if !alive.is_empty() {
                    lived.push(format!(
                        "round {round}: the thief was refused, the owner's token lives"
                    ));
                }
            }
        }
    }
    assert!(lived.is_empty(), "{lived:?}");

    // A client registered with a window of 0 has none, whatever the service's default.
    let strict = client_with_window(&server, "strict-portal", 0);
    same_second_replay_ends_the_family(&strict, false);
    let survived = races_survived(&strict, &strict, false);
    assert!(survived.is_empty(), "the family lived on: {survived:?}");
}

#[test]
fn with_grace_a_replay_after_the_successor_was_used_ends_the_family_sqlite() {
    with_grace(Backend::Embedded);
}

#[test]
fn with_grace_a_replay_after_the_successor_was_used_ends_the_family_postgres_redis() {
    with_grace(Backend::Real);
}

/// Two replicas' configuration: one database, one Redis prefix, the default window (60 s).
fn replica_config(dir: &Path, public_url: &str) -> std::path::PathBuf {
    let text = format!(
        r#"public_url = "{public_url}"
database_url = "{db}"
redis_url = "{redis}"
redis_prefix = "gpki-refresh-race:{prefix}:"
"#,
        db = gpki_idp_store::testing::fresh_postgres_url(),
        redis = gpki_idp_store::testing::redis_url(),
        prefix = gpki_idp_core::random_token(6),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `gpki-idp admin create-client` of a confidential client without a window, as an operator
/// would: its secret.
fn strict_client_by_cli(config: &Path, client_id: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpki-idp"))
        .args(["admin", "create-client", "--config"])
        .arg(config)
        .args([
            "--school",
            demo::SCHOOL,
            "--client-id",
            client_id,
            "--name",
            client_id,
        ])
        .args([
            "--redirect-uri",
            crate::support::REDIRECT,
            "--refresh-reuse-grace-secs",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim().rsplit(' ').next().unwrap().to_string()
}

/// The owner refreshes at one replica, the thief at the other, at the same moment, with a
/// client the operator registered without a window (the service's default is 60 s).
#[test]
fn without_grace_every_race_across_two_replicas_ends_the_family() {
    let dir = temp_dir("refresh-race");
    let listen_a = format!("127.0.0.1:{}", free_port());
    let config = replica_config(&dir, &format!("http://{listen_a}"));
    let a = Serve::start(&config, &listen_a, true);
    let b = Serve::start(&config, &format!("127.0.0.1:{}", free_port()), false);
    let secret = strict_client_by_cli(&config, "strict");
    let at = |r: &Serve| {
        Rp::client(
            &format!("{}/schools/{}", r.base, demo::SCHOOL),
            "strict",
            &secret,
        )
    };
    let survived = races_survived(&at(&a), &at(&b), false);
    assert!(survived.is_empty(), "the family lived on: {survived:?}");
}
