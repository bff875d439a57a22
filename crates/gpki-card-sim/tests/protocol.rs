//! The simulator over HTTP, as the popup script calls it: every mode, the PIN counter, and
//! signatures that the certificate engine accepts.

use std::sync::OnceLock;
use std::time::SystemTime;

use base64::Engine;
use gpki_card_sim::{Card, Mode, SimConfig, Simulator};
use gpki_testpki::{LeafSpec, TestPki};
use gpki_verify::path::TrustStore;
use gpki_verify::revocation::fetch::UreqFetcher;
use gpki_verify::revocation::RevocationMode;
use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::{Verifier, VerifierConfig};
use serde_json::{json, Value};

fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(TestPki::generate)
}

fn sim(config: SimConfig) -> Simulator {
    let card = Card::issue(pki(), &LeafSpec::default());
    Simulator::start("127.0.0.1:0", card, config).expect("simulator starts")
}

fn url(sim: &Simulator, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", sim.port())
}

fn post(sim: &Simulator, path: &str, body: &Value, origin: &str) -> Value {
    let mut response = ureq::post(&url(sim, path))
        .header("X-Sim-Origin", origin)
        .send(body.to_string())
        .expect("answer");
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn sign_request(pin: &str) -> Value {
    json!({"func": "MakeSignature", "signatureType": "PKCS7", "tbs": "challenge-abc", "tbsEncoding": "NONE",
           "hashAlgorithm": "SHA256", "withCardSN": "true", "pin": pin, "nonce": "challenge-abc"})
}

const ORIGIN: &str = "http://127.0.0.1:8080";

fn ret(v: &Value) -> (u64, u64) {
    (
        v["ret_code"].as_u64().unwrap(),
        v["last_error"].as_u64().unwrap(),
    )
}

fn engine() -> Verifier {
    let trust =
        TrustStore::new(vec![pki().grca.der.clone()], vec![pki().moica.der.clone()]).unwrap();
    let mut config = VerifierConfig::default();
    config.revocation.mode = RevocationMode::None;
    Verifier::new(
        trust,
        config,
        std::sync::Arc::new(UreqFetcher::new(std::time::Duration::from_secs(1), 1 << 20)),
    )
}

#[test]
fn version_and_popup_form_are_served_without_cors() {
    let s = sim(SimConfig::default());
    let mut root = ureq::get(&url(&s, "/")).call().unwrap();
    assert!(root
        .body_mut()
        .read_to_string()
        .unwrap()
        .starts_with("version:"));
    let mut popup = ureq::get(&url(&s, "/popupForm")).call().unwrap();
    assert!(popup.headers().get("access-control-allow-origin").is_none());
    assert!(popup
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("getTbs"));
    s.set_mode(Mode::NotStarted);
    assert!(
        ureq::get(&url(&s, "/popupForm")).call().is_err(),
        "a stopped component never answers the page"
    );
}

#[test]
fn signature_verifies_with_the_certificate_engine() {
    let s = sim(SimConfig::default());
    let answer = post(&s, "/sign", &sign_request("123456"), ORIGIN);
    assert_eq!(ret(&answer), (0, 0), "{answer}");
    assert_eq!(answer["cardSN"], "TP03000000123456");
    let b64 = base64::engine::general_purpose::STANDARD;
    let signature = answer["signature"].as_str().unwrap().as_bytes().to_vec();
    let cert = b64.decode(answer["certb64"].as_str().unwrap()).unwrap();
    let input = SignatureInput::Pkcs7 {
        signature: &signature,
        certificate: Some(&cert),
    };
    let exp = Expected {
        content: Some(b"challenge-abc"),
        nonce: Some(b"challenge-abc"),
    };
    let ok = engine()
        .verify(&input, &exp, SystemTime::now())
        .expect("engine accepts the simulator's signature");
    assert_eq!(ok.profile.subject_cn.as_deref(), Some("王小明"));
    assert_eq!(ok.card_serial.as_deref(), Some("TP03000000123456"));

    let mut pkcs1 = sign_request("123456");
    pkcs1["signatureType"] = json!("PKCS1");
    let answer = post(&s, "/sign", &pkcs1, ORIGIN);
    let sig = answer["signature"].as_str().unwrap().as_bytes().to_vec();
    let input = SignatureInput::Pkcs1 {
        signature: &sig,
        certificate: &cert,
        hash: gpki_verify::algorithm::Hash::Sha256,
    };
    engine()
        .verify(&input, &exp, SystemTime::now())
        .expect("PKCS1 form");
}

#[test]
fn wrong_pin_counts_down_then_locks() {
    let s = sim(SimConfig::default());
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("000000"), ORIGIN)),
        (0x7610_0006, 0x8000_0002)
    );
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("000000"), ORIGIN)),
        (0x7610_0006, 0x8000_0001)
    );
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("000000"), ORIGIN)),
        (0x7610_0006, 0xA4)
    );
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("123456"), ORIGIN)),
        (0x7610_0006, 0xA4),
        "locked stays locked"
    );
    s.reset_pin();
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("123456"), ORIGIN)),
        (0, 0)
    );
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request(""), ORIGIN)).0,
        0x7600_0998,
        "PIN not entered"
    );
}

#[test]
fn every_failure_mode_gives_its_code() {
    let s = sim(SimConfig::default());
    let cases = [
        (Mode::DriverMissing, 0x7610_0001),
        (Mode::NoReader, 0x7610_0003),
        (Mode::NoCard, 0x7600_0006),
        (Mode::UnknownToken, 0x7610_0006),
        (Mode::Cancel, 0x7600_0999),
        (Mode::Untrusted, 0x7600_0031),
        (Mode::CertExpired, 0x7650_0002),
    ];
    for (mode, code) in cases {
        s.set_mode(mode);
        assert_eq!(
            ret(&post(&s, "/sign", &sign_request("123456"), ORIGIN)).0,
            code,
            "{mode:?}"
        );
    }
    s.set_mode(Mode::UnknownToken);
    let info = post(&s, "/pkcs11info", &json!({"func": "CheckEnvir"}), ORIGIN);
    assert_eq!(info["slots"][0]["token"], "unknown token");
    s.set_mode(Mode::NoReader);
    assert_eq!(
        ret(&post(&s, "/pkcs11info", &json!({}), ORIGIN)).0,
        0x7610_0003
    );
}

#[test]
fn pkcs11info_lists_the_signing_certificate() {
    let s = sim(SimConfig::default());
    let info = post(
        &s,
        "/pkcs11info?withcert=true",
        &json!({"func": "GetUserCert"}),
        ORIGIN,
    );
    let certs = &info["slots"][0]["token"]["certs"];
    assert_eq!(certs[0]["usage"], "digitalSignature");
    assert_eq!(certs[0]["subjectID"], "6789");
    assert!(certs[0]["certb64"].as_str().is_some());
    let without = post(&s, "/pkcs11info", &json!({"func": "CheckEnvir"}), ORIGIN);
    assert!(without["slots"][0]["token"]["certs"][0]["certb64"].is_null());
}

#[test]
fn sites_outside_the_trusted_list_are_refused() {
    let s = sim(SimConfig {
        trusted_origins: vec![ORIGIN.into()],
        ..SimConfig::default()
    });
    assert_eq!(
        ret(&post(&s, "/sign", &sign_request("123456"), ORIGIN)).0,
        0
    );
    assert_eq!(
        ret(&post(
            &s,
            "/sign",
            &sign_request("123456"),
            "http://evil.example"
        ))
        .0,
        0x7600_0031
    );
    assert_eq!(
        ret(&post(&s, "/sign", &json!("not a request"), ORIGIN)).0,
        0x7600_000B
    );
}

#[test]
fn saved_pki_reloads_and_still_issues_chaining_certificates() {
    let dir = std::env::temp_dir().join(format!("gpki-sim-pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = TestPki::load_or_generate(&dir).unwrap();
    let again = TestPki::load_or_generate(&dir).unwrap();
    assert_eq!(first.moica.der, again.moica.der);
    let leaf = again.issue_leaf(&LeafSpec::default());
    let trust =
        TrustStore::new(vec![first.grca.der.clone()], vec![first.moica.der.clone()]).unwrap();
    let profile = gpki_verify::profile::read(&leaf.der).unwrap();
    trust
        .validate(&leaf.der, &profile, SystemTime::now(), &Default::default())
        .expect("reloaded CA issues valid leaves");
}
