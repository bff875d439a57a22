//! A lost card, unbound on one replica, ends everywhere: the sessions opened with it and the
//! refresh-token families issued in them end on the other replica too (one PostgreSQL, one
//! Redis), the portal that got a token in the session is told (its logout token verified),
//! and the teacher's password session elsewhere lives on. The portal is made with the CLI's
//! `--backchannel-logout-uri`.

use std::time::Duration;

use reqwest::blocking::Client as Http;
use serde_json::Value;

use crate::backchannel::{verify, Portal};
use crate::replicas::{cli, config, listen_addr, register};
use crate::support::card::{card, signer};
use crate::support::http::claims_of;
use crate::support::process::Serve;
use crate::support::rp::{query_of, redirect_query};
use crate::support::{browser, Rp, REDIRECT};

/// The secret at the end of a CLI line.
fn last_word(out: &str) -> String {
    out.trim().rsplit(' ').next().unwrap().to_string()
}

#[test]
fn a_card_unbound_on_one_replica_ends_its_sessions_and_families_on_the_other() {
    let portal = Portal::start(vec![]);
    let dir = std::env::temp_dir().join(format!("gpki-bc-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen_a = listen_addr();
    let config = config(&dir, &format!("http://{listen_a}"), "");
    let a = Serve::start(&config, &listen_a, true);
    let b = Serve::start(&config, &listen_addr(), false);
    let issuer_at = |r: &Serve| format!("{}/schools/demo", r.base);
    // The issuer is the public URL's (A's) whichever replica answers.
    let issuer = issuer_at(&a);
    let secret = last_word(&cli(
        &config,
        &[
            "create-client",
            "--school",
            "demo",
            "--client-id",
            "bc-portal",
            "--name",
            "bc portal",
            "--redirect-uri",
            REDIRECT,
            "--backchannel-logout-uri",
            &portal.url,
        ],
    ));
    let ops = last_word(&cli(
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
    ));
    let rp_at =
        |r: &Serve| Rp::client(&issuer_at(r), "bc-portal", &secret).scope("openid offline_access");

    // The teacher registers a card, then logs in with it at A; the tokens come from B.
    let leaf = card(0x2e93);
    register(&a, &leaf);
    let with_card = browser();
    let form = rp_at(&a).login_page(&with_card, &[]);
    let (status, body) = rp_at(&a).card_login(&with_card, &form, "teacher", signer(&leaf));
    assert_eq!(status, 200, "{body}");
    let code = query_of(body["redirect"].as_str().unwrap())["code"].clone();
    let (status, card_tokens) = rp_at(&b).exchange(&code);
    assert_eq!(status, 200, "{card_tokens}");
    let card_id = claims_of(card_tokens["id_token"].as_str().unwrap());
    // And with the password in another browser, at B.
    let with_password = browser();
    let r = rp_at(&b).password_login(
        &with_password,
        &[],
        "teacher",
        gpki_idp_server::demo::PASSWORD,
    );
    let (status, pw_tokens) = rp_at(&a).exchange(&redirect_query(&r)["code"]);
    assert_eq!(status, 200, "{pw_tokens}");

    // The GM unbinds the card (reported lost) through A.
    let (_, admin) = Rp::client(&issuer, "ops", &ops)
        .token(&[("grant_type", "client_credentials"), ("scope", "admin")]);
    let bearer = admin["access_token"].as_str().unwrap();
    let certs: Value = Http::new()
        .get(format!("{}/admin/v1/schools/demo/certificates", a.base))
        .bearer_auth(bearer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = certs["items"][0]["id"].as_i64().unwrap();
    let removed = Http::new()
        .delete(format!(
            "{}/admin/v1/schools/demo/certificates/{id}",
            a.base
        ))
        .bearer_auth(bearer)
        .send()
        .unwrap();
    assert_eq!(removed.status(), 204);

    // On B: the card's session and its refresh family are over …
    let (refreshed, answer) = rp_at(&b).refresh(card_tokens["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed, 400, "{answer}");
    assert_eq!(
        rp_at(&b).authorize(&with_card, &[]).status(),
        200,
        "the card's browser must log in again"
    );
    // … the password session is not.
    let (refreshed, answer) = rp_at(&b).refresh(pw_tokens["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed, 200, "{answer}");
    assert_eq!(rp_at(&b).authorize(&with_password, &[]).status(), 302);

    // The portal was told of the card's session, and of it alone.
    let token = portal.nth(1, Duration::from_secs(10));
    verify(&issuer, "bc-portal", &token, &card_id);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(portal.tokens().len(), 1, "one session ended");
}
