//! Certificate registration and login through the JSON API the pages use, with real CMS
//! signatures from the test PKI, OCSP from the in-process responder, and the ID token's
//! acr/amr of a card login.

use gpki_idp_server::demo;
use gpki_testpki::OcspBehaviour;
use serde_json::Value;

use crate::support::card::register_with;
use crate::support::card::{card, card_login, password_login, pki, portal, register, server, sign};
use crate::support::http::{claims_of, post, status_json};
use crate::support::rp::query_of;
use crate::support::{block_on, browser};

#[test]
fn register_then_log_in_with_the_card() {
    let server = server();
    let teacher_card = card(0x7e1);
    let b = browser();
    let csrf = password_login(&server, &b);
    let (status, binding) = register(&portal(&server), &b, &csrf, &teacher_card);
    assert_eq!(status, 201, "{binding}");
    assert_eq!(binding["subject_cn"], "王小明");
    let list: Value = b
        .get(format!("{}/account/cards", server.issuer(demo::SCHOOL)))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["certificates"].as_array().unwrap().len(), 1);

    let fresh = browser();
    let (status, body) = card_login(&server, &fresh, "teacher", &teacher_card, |c| c.to_string());
    assert_eq!(status, 200, "{body}");
    let q = query_of(body["redirect"].as_str().unwrap());
    assert_eq!(q["state"], "card");
    let (_, tokens) = server.portal().exchange(&q["code"]);
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], gpki_idp_core::factor::ACR_CERTIFICATE);
    assert_eq!(
        claims["amr"],
        serde_json::json!(["sc", "hwk", "pin", "mfa"])
    );
    assert_eq!(claims["preferred_username"], "teacher");
    assert!(
        pki().ocsp.ocsp_hits() >= 1,
        "revocation was checked by OCSP"
    );

    // Every login and registration is audited, with codes and identifiers only.
    let (_, bad) = card_login(&server, &browser(), "teacher", &card(0x7e9), |c| {
        c.to_string()
    });
    assert_eq!(bad["error"], "certificate_not_registered");
    let school = server.demo_school();
    let events = block_on(
        server
            .state
            .provider
            .directory()
            .audit_events(school.id, 0, 100),
    )
    .unwrap();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.event.clone(), e.outcome.clone()))
        .collect();
    for expected in [
        ("login.password", "success"),
        ("certificate.register", "success"),
        ("login.certificate", "success"),
        ("login.certificate", "certificate_not_registered"),
    ] {
        assert!(
            seen.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {seen:?}"
        );
    }
    let register = events
        .iter()
        .find(|e| e.event == "certificate.register")
        .unwrap();
    assert_eq!(register.detail["serial"], binding["serial"]);
    // What the browser did comes from its address (the demo school's seeding, made by the
    // operator at the start, has none).
    let browser_events = events
        .iter()
        .filter(|e| e.event.starts_with("login.") || e.event.starts_with("certificate."));
    assert!(browser_events.clone().count() >= 2);
    assert!(browser_events
        .into_iter()
        .all(|e| e.ip.as_deref() == Some("127.0.0.1")));
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains(demo::PASSWORD),
        "no password in the audit log"
    );
    assert!(
        !text.contains("MII"),
        "no certificate or signature in the audit log"
    );

    let metrics = reqwest::blocking::get(format!("{}/metrics", server.base))
        .unwrap()
        .text()
        .unwrap();
    for line in [
        "gpki_logins_total{method=\"certificate\",outcome=\"success\",school=\"demo\"} 1",
        "gpki_logins_total{method=\"certificate\",outcome=\"certificate_not_registered\",school=\"demo\"} 1",
        "gpki_logins_total{method=\"password\",outcome=\"success\",school=\"demo\"} 1",
        "gpki_token_requests_total{grant=\"authorization_code\",outcome=\"ok\"} 1",
        "gpki_store_errors_total{store=\"redis\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    assert!(metrics.contains(
        "gpki_http_requests_total{route=\"/schools/{school}/login/card\",status=\"200\"}"
    ));
    // The time spent waiting for the OCSP responder is counted (mean = micros / fetches).
    let fetch_micros: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gpki_revocation_events{event=\"ocsp_fetch_micros\"} "))
        .and_then(|v| v.parse().ok())
        .expect("ocsp_fetch_micros exported");
    assert!(fetch_micros > 0);
    assert!(metrics.contains("gpki_revocation_events{event=\"ocsp_fetches\"}"));
    assert!(metrics.contains("gpki_card_login_seconds_count 2"));
}

#[test]
fn what_a_card_login_must_refuse() {
    let server = server();
    let teacher_card = card(0x7e2);
    let b = browser();
    let csrf = password_login(&server, &b);
    assert_eq!(register(&portal(&server), &b, &csrf, &teacher_card).0, 201);
    let issuer = server.issuer(demo::SCHOOL);

    // A signature over another challenge.
    let (status, body) = card_login(&server, &browser(), "teacher", &teacher_card, |_| {
        "yesterday's challenge".into()
    });
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("content_mismatch"))
    );
    assert!(body["message_zh"].as_str().unwrap().contains("挑戰值"));

    // A card nobody registered, and an unknown account: the same answer.
    let stranger_card = card(0x7e3);
    let (_, body) = card_login(&server, &browser(), "teacher", &stranger_card, |c| {
        c.to_string()
    });
    assert_eq!(body["error"], "certificate_not_registered");
    let (_, body) = card_login(&server, &browser(), "no-such-user", &teacher_card, |c| {
        c.to_string()
    });
    assert_eq!(body["error"], "certificate_not_registered");

    // Replay: the same challenge and signature a second time.
    let fresh = browser();
    let rp = portal(&server);
    let form = rp.login_page(&fresh, &[]);
    let challenge = rp.card_challenge(&fresh, &form);
    let signature = sign(&teacher_card, &challenge, &challenge);
    let attempt = [
        ("req", form.req.as_str()),
        ("csrf", form.csrf.as_str()),
        ("username", "teacher"),
        ("challenge", challenge.as_str()),
        ("signature", signature.as_str()),
    ];
    assert_eq!(
        post(&fresh, format!("{issuer}/login/card"), &attempt).0,
        200
    );
    let (status, body) = post(&fresh, format!("{issuer}/login/card"), &attempt);
    // The login completed: its request is used up, whatever the second submit carries.
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("login_expired"))
    );

    // A challenge fetched by one browser, answered from another.
    let (a, other) = (browser(), browser());
    let form_a = rp.login_page(&a, &[]);
    let challenge = rp.card_challenge(&a, &form_a);
    let signature = sign(&teacher_card, &challenge, &challenge);
    let other_csrf = rp.login_page(&other, &[]).csrf;
    let form = [
        ("req", form_a.req.as_str()),
        ("csrf", other_csrf.as_str()),
        ("username", "teacher"),
        ("challenge", challenge.as_str()),
        ("signature", signature.as_str()),
    ];
    let (_, body) = post(&other, format!("{issuer}/login/card"), &form);
    assert_eq!(body["error"], "challenge_invalid");

    // No CSRF field: refused before anything else.
    let (status, body) = post(
        &browser(),
        format!("{issuer}/login/card/challenge"),
        &[("req", "x")],
    );
    assert_eq!((status, body["error"].as_str()), (403, Some("csrf_failed")));

    // A revoked card.
    pki().ocsp.set_ocsp(OcspBehaviour {
        revoked: vec![hex(0x7e2)],
        ..Default::default()
    });
    let (_, body) = card_login(&server, &browser(), "teacher", &teacher_card, |c| {
        c.to_string()
    });
    pki().ocsp.set_ocsp(OcspBehaviour::default());
    assert_eq!(body["error"], "cert_revoked", "{body}");
}

/// The serial as the responder's revocation list names it.
fn hex(serial: u64) -> String {
    gpki_testpki::serial_bytes(serial)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn registering_needs_a_logged_in_account_and_one_card_binds_once() {
    let server = server();
    let issuer = server.issuer(demo::SCHOOL);
    let b = browser();
    let csrf = portal(&server).login_page(&b, &[]).csrf;
    let (status, body) = post(
        &b,
        format!("{issuer}/account/card/challenge"),
        &[("csrf", &csrf)],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("login_required"))
    );
    let csrf = password_login(&server, &b);
    let shared = card(0x7e4);
    assert_eq!(register(&portal(&server), &b, &csrf, &shared).0, 201);
    let id = b
        .get(format!("{issuer}/account/cards"))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["certificates"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, _) = post(
        &b,
        format!("{issuer}/account/cards/{id}/remove"),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, 200);
    let (status, _) = post(
        &b,
        format!("{issuer}/account/cards/{id}/remove"),
        &[("csrf", &csrf)],
    );
    assert_eq!(status, 404);
}

/// The same endpoint accepts a signature made by `openssl cms -sign` over the challenge (the
/// form of a real card's PKCS#7 differs from the test PKI's signer; openssl's is a third one).
#[test]
fn a_signature_made_by_openssl_logs_in() {
    let server = server();
    let leaf = card(0x7e5);
    let b = browser();
    let csrf = password_login(&server, &b);
    let rp = portal(&server);
    assert_eq!(register(&rp, &b, &csrf, &leaf).0, 201);

    let fresh = browser();
    let form = rp.login_page(&fresh, &[]);
    let challenge = rp.card_challenge(&fresh, &form);
    let dir = std::env::temp_dir().join(format!("gpki-openssl-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("challenge"), &challenge).unwrap();
    std::fs::write(
        dir.join("card.pem"),
        gpki_testpki::pem_encode("CERTIFICATE", &leaf.der),
    )
    .unwrap();
    std::fs::write(dir.join("card.key"), leaf.key.serialize_pem()).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            "sha256",
            "-in",
            "challenge",
            "-signer",
            "card.pem",
            "-inkey",
            "card.key",
            "-outform",
            "PEM",
        ])
        .current_dir(&dir)
        .output()
        .expect("the openssl command is required (CI installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).unwrap();
    let r = rp.card_request(&fresh, &form, "teacher", &challenge, &pem);
    let (status, body) = status_json(r.send().unwrap());
    assert_eq!(status, 200, "{body}");
    assert!(body["redirect"].as_str().unwrap().contains("code="));
}

#[test]
fn registration_within_campus_ranges_and_with_a_one_time_code() {
    let server = server();
    let provider = &server.state.provider;
    let school = server.demo_school();
    let set = |cidrs: &[&str], code: bool| {
        let rules = gpki_idp_core::policy::RegistrationRules {
            campus_cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            require_enrollment_code: code,
        };
        block_on(
            provider
                .directory()
                .set_registration_rules(school.id, rules),
        )
        .unwrap();
    };
    let b = browser();
    let csrf = password_login(&server, &b);
    let leaf = card(0x7e6);
    let rp = portal(&server);

    set(&["10.0.0.0/8"], false);
    let (status, body) = register(&rp, &b, &csrf, &leaf);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("registration_off_campus")),
        "127.0.0.1 is not on campus"
    );

    set(&["127.0.0.0/8"], true);
    let (_, body) = register(&rp, &b, &csrf, &leaf);
    assert_eq!(
        body["error"], "enrollment_code_invalid",
        "a code is required"
    );

    let teacher = block_on(provider.directory().user_by_username(school.id, "teacher"))
        .unwrap()
        .unwrap();
    let (_, code) = block_on(provider.issue_enrollment_code(
        &school,
        &teacher,
        std::time::Duration::from_secs(600),
    ))
    .unwrap();
    let with_code = |leaf: &gpki_testpki::Leaf, code: &str| {
        register_with(&rp, &b, &csrf, leaf, &[("enrollment_code", code)])
    };
    assert_eq!(
        with_code(&leaf, "wrong-code").1["error"],
        "enrollment_code_invalid"
    );
    assert_eq!(with_code(&leaf, &code).0, 201);
    let other = card(0x7e7);
    let (_, body) = with_code(&other, &code);
    assert_eq!(
        body["error"], "enrollment_code_invalid",
        "a code works once"
    );
}

#[test]
fn card_only_login_finds_the_account_from_the_certificate() {
    let server = server();
    let teacher_card = card(0x7e5);
    let b = browser();
    let csrf = password_login(&server, &b);
    assert_eq!(register(&portal(&server), &b, &csrf, &teacher_card).0, 201);

    // No account typed: the registered certificate names it, and the audit names it too.
    let (status, body) = card_login(&server, &browser(), "", &teacher_card, |c| c.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(body["redirect"].as_str().unwrap().contains("code="));
    let (status, body) = card_login(&server, &browser(), "", &card(0x7e6), |c| c.to_string());
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("certificate_not_registered"))
    );
    let provider = &server.state.provider;
    let school = server.demo_school();
    let events = block_on(provider.directory().audit_events(school.id, 0, 100)).unwrap();
    let card_logins: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.event == "login.certificate")
        .map(|e| (e.actor.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        card_logins,
        [("teacher", "success"), ("", "certificate_not_registered")]
    );
}
