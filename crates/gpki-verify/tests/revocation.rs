//! OCSP and CRL against the in-process responder and CRL server: every answer a verifier must
//! refuse, caching, and a failed CRL refresh keeping the previous good copy.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use common::{env, pki};
use gpki_testpki::{OcspBehaviour, OcspSigner};
use gpki_verify::revocation::fetch::{FetchError, HttpFetcher};
use gpki_verify::revocation::{RevocationMode, RevocationStatus, WhenUnavailable};
use gpki_verify::{Error, RevocationSource};

fn verify(env: &common::Env) -> Result<gpki_verify::Verified, Error> {
    verify_at(env, SystemTime::now())
}

fn verify_at(env: &common::Env, at: SystemTime) -> Result<gpki_verify::Verified, Error> {
    common::sign_and_verify(env, &env.leaf, at)
}

fn ocsp_env(b: OcspBehaviour) -> common::Env {
    let env = env(RevocationMode::Ocsp, |_| {}, |_| {});
    env.server.set_ocsp(b);
    env
}

fn serial_hex(env: &common::Env) -> String {
    hex::encode(&env.leaf.serial)
}

fn ocsp_failure_code(err: Error) -> &'static str {
    match err {
        Error::RevocationUnavailable(f) => f.first().map(|f| f.code).unwrap_or("none"),
        other => panic!("expected revocation_unavailable, got {other:?}"),
    }
}

#[test]
fn ocsp_good_then_cached() {
    let env = ocsp_env(OcspBehaviour::default());
    let ok = verify(&env).expect("good");
    assert_eq!(
        ok.revocation,
        RevocationStatus::Good {
            source: RevocationSource::Ocsp
        }
    );
    verify(&env).expect("good again");
    assert_eq!(
        env.server.ocsp_hits(),
        1,
        "second check must come from the cache"
    );
    assert_eq!(
        env.verifier
            .revocation()
            .stats
            .ocsp_cache_hits
            .load(Ordering::SeqCst),
        1
    );
}

#[test]
fn ocsp_by_get_works() {
    let env = env(
        RevocationMode::Ocsp,
        |_| {},
        |c| c.revocation.ocsp_get = true,
    );
    verify(&env).expect("GET request answered");
}

#[test]
fn ocsp_revoked_and_unknown_are_refused() {
    let env = env(RevocationMode::Ocsp, |_| {}, |_| {});
    env.server.set_ocsp(OcspBehaviour {
        revoked: vec![serial_hex(&env)],
        ..Default::default()
    });
    assert_eq!(
        verify(&env).unwrap_err(),
        Error::CertRevoked {
            by: RevocationSource::Ocsp
        }
    );
    let env2 = env_unknown();
    assert_eq!(verify(&env2).unwrap_err(), Error::CertStatusUnknown);
}

fn env_unknown() -> common::Env {
    let env = env(RevocationMode::Ocsp, |s| s.serial = 4242, |_| {});
    env.server.set_ocsp(OcspBehaviour {
        unknown: vec![serial_hex(&env)],
        ..Default::default()
    });
    env
}

#[test]
fn ocsp_delegated_responder_is_accepted() {
    let env = ocsp_env(OcspBehaviour {
        signer: OcspSigner::Delegated,
        ..Default::default()
    });
    verify(&env).expect("delegated responder with OCSPSigning");
}

#[test]
fn ocsp_signed_by_a_stranger_is_refused() {
    let env = ocsp_env(OcspBehaviour {
        signer: OcspSigner::Stranger,
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&env).unwrap_err()),
        "ocsp_bad_signature"
    );
}

#[test]
fn ocsp_wrong_cert_id_is_refused() {
    let env = ocsp_env(OcspBehaviour {
        wrong_cert_id: true,
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&env).unwrap_err()),
        "ocsp_cert_id_mismatch"
    );
}

#[test]
fn ocsp_stale_and_expired_answers_are_refused() {
    let stale = ocsp_env(OcspBehaviour {
        this_update_offset: -3 * 86400,
        next_update_offset: None,
        ..Default::default()
    });
    assert_eq!(ocsp_failure_code(verify(&stale).unwrap_err()), "ocsp_stale");
    let expired = ocsp_env(OcspBehaviour {
        this_update_offset: -7200,
        next_update_offset: Some(-3600),
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&expired).unwrap_err()),
        "ocsp_expired"
    );
    let future = ocsp_env(OcspBehaviour {
        this_update_offset: 3600,
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&future).unwrap_err()),
        "ocsp_not_yet_valid"
    );
}

#[test]
fn ocsp_nonce_mismatch_is_refused() {
    let env = ocsp_env(OcspBehaviour {
        echo_nonce: false,
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&env).unwrap_err()),
        "ocsp_nonce_mismatch"
    );
}

#[test]
fn ocsp_down_and_timeout_are_unavailable_and_refused_by_default() {
    let down = ocsp_env(OcspBehaviour {
        down: true,
        ..Default::default()
    });
    assert_eq!(
        ocsp_failure_code(verify(&down).unwrap_err()),
        "ocsp_unreachable"
    );
    let slow = ocsp_env(OcspBehaviour {
        delay: Duration::from_millis(2500),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(
        ocsp_failure_code(verify(&slow).unwrap_err()),
        "ocsp_timeout"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2400),
        "the fetch timeout bounds the call"
    );
}

#[test]
fn operator_may_accept_when_unavailable() {
    let env = env(
        RevocationMode::Ocsp,
        |_| {},
        |c| c.revocation.when_unavailable = WhenUnavailable::Accept,
    );
    env.server.set_ocsp(OcspBehaviour {
        down: true,
        ..Default::default()
    });
    let ok = verify(&env).expect("accepted by operator choice");
    assert!(matches!(
        ok.revocation,
        RevocationStatus::Unavailable { .. }
    ));
    assert_eq!(
        env.verifier
            .revocation()
            .stats
            .unavailable_accepted
            .load(Ordering::SeqCst),
        1
    );
}

#[test]
fn stale_if_error_serves_the_cached_answer_while_the_responder_is_down() {
    let env = env(
        RevocationMode::Ocsp,
        |_| {},
        |c| {
            c.revocation.ocsp_cache_ttl = Duration::from_secs(60);
            c.revocation.stale_if_error = Duration::from_secs(600);
        },
    );
    verify(&env).expect("good, cached");
    env.server.set_ocsp(OcspBehaviour {
        down: true,
        ..Default::default()
    });
    let later = SystemTime::now() + Duration::from_secs(120);
    verify_at(&env, later).expect("stale answer served within the window");
    let much_later = SystemTime::now() + Duration::from_secs(3600);
    assert!(verify_at(&env, much_later).is_err());
}

fn crl_env() -> common::Env {
    env(RevocationMode::Crl, |_| {}, |_| {})
}

fn publish_crl(env: &common::Env, revoked: &[Vec<u8>], next_in: time::Duration) {
    let now = time::OffsetDateTime::now_utc();
    let der = pki().crl(
        &pki().moica,
        revoked,
        now - time::Duration::hours(1),
        now + next_in,
    );
    env.server.set_crl("moica", der);
}

#[test]
fn crl_good_and_revoked() {
    let env = crl_env();
    publish_crl(&env, &[vec![1, 2, 3]], time::Duration::days(1));
    let ok = verify(&env).expect("not on the CRL");
    assert_eq!(
        ok.revocation,
        RevocationStatus::Good {
            source: RevocationSource::Crl
        }
    );
    verify(&env).expect("again");
    assert_eq!(
        env.server.crl_hits(),
        1,
        "the CRL is fetched once, then looked up in memory"
    );

    let revoked = crl_env();
    publish_crl(
        &revoked,
        std::slice::from_ref(&revoked.leaf.serial),
        time::Duration::days(1),
    );
    assert_eq!(
        verify(&revoked).unwrap_err(),
        Error::CertRevoked {
            by: RevocationSource::Crl
        }
    );
}

#[test]
fn crl_with_bad_signature_is_refused() {
    let env = crl_env();
    let now = time::OffsetDateTime::now_utc();
    // Signed by the root, not by the leaf's issuer: refused as not from the issuer.
    let by_root = pki().crl(&pki().grca, &[], now, now + time::Duration::days(1));
    env.server.set_crl("moica", by_root);
    let code = ocsp_failure_code(verify(&env).unwrap_err());
    assert!(
        code == "crl_bad_signature" || code == "crl_wrong_issuer",
        "{code}"
    );
    // A flipped bit in the signature.
    let mut der = pki().crl(&pki().moica, &[], now, now + time::Duration::days(1));
    let n = der.len() - 5;
    der[n] ^= 1;
    let env2 = crl_env();
    env2.server.set_crl("moica", der);
    assert_eq!(
        ocsp_failure_code(verify(&env2).unwrap_err()),
        "crl_bad_signature"
    );
}

#[test]
fn expired_crl_is_refused() {
    let env = crl_env();
    let now = time::OffsetDateTime::now_utc();
    let der = pki().crl(
        &pki().moica,
        &[],
        now - time::Duration::days(10),
        now - time::Duration::days(1),
    );
    env.server.set_crl("moica", der);
    assert_eq!(ocsp_failure_code(verify(&env).unwrap_err()), "crl_expired");
}

#[test]
fn failed_refresh_keeps_the_previous_good_copy() {
    let env = crl_env();
    publish_crl(&env, &[], time::Duration::days(1));
    verify(&env).expect("loaded");
    env.server.set_crl_down(true);
    let url = env.server.crl_url("moica");
    let err = env
        .verifier
        .revocation()
        .refresh_crl(&url, env.verifier.trust(), SystemTime::now())
        .unwrap_err();
    assert_eq!(err.code, "crl_unreachable");
    verify(&env).expect("previous copy still used");
    assert_eq!(env.verifier.revocation().crl_info().len(), 1);
}

#[test]
fn crl_is_not_fetched_on_the_login_path_by_default_but_by_the_refresher() {
    let env = env(
        RevocationMode::Crl,
        |_| {},
        |c| c.revocation.crl_fetch_on_miss = false,
    );
    publish_crl(&env, &[], time::Duration::days(1));
    assert_eq!(
        ocsp_failure_code(verify(&env).unwrap_err()),
        "crl_not_loaded"
    );
    assert_eq!(env.server.crl_hits(), 0, "no download during the login");
    let mut loaded = std::collections::HashMap::new();
    let round = env.verifier.refresh_crls(SystemTime::now(), &mut loaded);
    assert_eq!(round.refreshed, vec![env.server.crl_url("moica")]);
    verify(&env).expect("found after the background refresh");
    // Nothing is due again right away.
    assert!(env
        .verifier
        .refresh_crls(SystemTime::now(), &mut loaded)
        .refreshed
        .is_empty());
}

#[test]
fn ocsp_then_crl_falls_back_when_ocsp_is_down() {
    let env = env(RevocationMode::OcspThenCrl, |_| {}, |_| {});
    env.server.set_ocsp(OcspBehaviour {
        down: true,
        ..Default::default()
    });
    publish_crl(&env, &[], time::Duration::days(1));
    let ok = verify(&env).expect("CRL answers");
    assert_eq!(
        ok.revocation,
        RevocationStatus::Good {
            source: RevocationSource::Crl
        }
    );
    assert_eq!(env.fetcher.calls.load(Ordering::SeqCst), 2);
}

/// `good` with its thisUpdate replaced by a UTCTime of the right length holding a two-byte
/// character where the year ends: slicing it by bytes panicked.
fn crl_with_multibyte_this_update(good: &[u8]) -> Vec<u8> {
    let mut der = good.to_vec();
    let at = der
        .windows(2)
        .position(|w| w == [0x17, 0x0d])
        .expect("a UTCTime");
    der[at + 2..at + 15].copy_from_slice("2é345678901Z".as_bytes());
    der
}

fn good_crl() -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    pki().crl(
        &pki().moica,
        &[],
        now - time::Duration::hours(1),
        now + time::Duration::days(1),
    )
}

fn crl_failures(verifier: &gpki_verify::Verifier) -> u64 {
    verifier
        .revocation()
        .stats
        .crl_failures
        .load(Ordering::SeqCst)
}

#[test]
fn a_refresh_that_fails_to_parse_or_panics_is_counted_and_keeps_the_good_copy() {
    let env = env(
        RevocationMode::Crl,
        |_| {},
        |c| c.revocation.crl_fetch_on_miss = false,
    );
    let url = env.server.crl_url("moica");
    env.server.set_crl("moica", good_crl());
    verify(&env).unwrap_err(); // asks the refresher for the CRL
    let mut loaded = std::collections::HashMap::new();
    let round = env.verifier.refresh_crls(SystemTime::now(), &mut loaded);
    assert_eq!(round.refreshed, vec![url.clone()]);
    verify(&env).expect("loaded");
    let bad = [
        (b"not a CRL".to_vec(), "crl_malformed"),
        (crl_with_multibyte_this_update(&good_crl()), "crl_malformed"),
    ];
    for (der, code) in bad {
        let before = crl_failures(&env.verifier);
        env.server.set_crl("moica", der);
        // Make the loaded copy due again.
        loaded.insert(
            url.clone(),
            SystemTime::now() - Duration::from_secs(7 * 3600),
        );
        let round = env.verifier.refresh_crls(SystemTime::now(), &mut loaded);
        assert_eq!(round.failed, vec![url.clone()]);
        assert_eq!(crl_failures(&env.verifier), before + 1);
        verify(&env).expect("the previous good copy is still used");
        let err = env
            .verifier
            .revocation()
            .refresh_crl(&url, env.verifier.trust(), SystemTime::now())
            .unwrap_err();
        assert_eq!(err.code, code);
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fetcher that panics while `panic` is set, as a bug in a refresh would.
struct PanickingFetcher {
    inner: std::sync::Arc<common::CountingFetcher>,
    panic: std::sync::atomic::AtomicBool,
}

impl HttpFetcher for PanickingFetcher {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let body = self.inner.get(url);
        assert!(!self.panic.load(Ordering::SeqCst), "a bug in a refresh");
        body
    }
    fn post(&self, url: &str, ct: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        self.inner.post(url, ct, body)
    }
}

#[test]
fn refresher_retries_soon_after_garbage_and_a_panic_then_uses_the_good_crl() {
    let pki = pki();
    let server = gpki_testpki::RevocationServer::start(pki, &pki.moica);
    let url = server.crl_url("moica");
    let leaf = pki.issue_leaf(&gpki_testpki::LeafSpec {
        crl_url: Some(url.clone()),
        ..Default::default()
    });
    let mut config = gpki_verify::VerifierConfig::default();
    config.revocation.mode = RevocationMode::Crl;
    config.revocation.crl_urls = vec![url];
    config.revocation.crl_retry_interval = Duration::from_millis(50);
    let fetcher = std::sync::Arc::new(PanickingFetcher {
        inner: common::CountingFetcher::new(Duration::from_millis(800)),
        panic: false.into(),
    });
    let verifier = std::sync::Arc::new(gpki_verify::Verifier::new(
        common::trust(),
        config,
        fetcher.clone(),
    ));
    let check = || verifier.check_certificate(&leaf.der, SystemTime::now());
    let last_code = || match check() {
        Err(Error::RevocationUnavailable(f)) => f.first().map(|f| f.code),
        _ => None,
    };

    server.set_crl("moica", b"garbage".to_vec());
    // An hour between rounds: only a prompt retry after a failure gets the good CRL in time.
    let refresher = verifier.spawn_crl_refresher(Duration::from_secs(3600));
    wait_for("a failed load of garbage", || {
        last_code() == Some("crl_malformed")
    });
    // The CRL whose time slicing panicked before it was checked.
    server.set_crl("moica", crl_with_multibyte_this_update(&good_crl()));
    let before = server.crl_hits();
    wait_for("the bad-time CRL fetched", || {
        server.crl_hits() >= before + 2
    });
    assert_eq!(last_code(), Some("crl_malformed"));
    // A panic during a refresh is caught, counted and retried.
    server.set_crl("moica", good_crl());
    fetcher.panic.store(true, Ordering::SeqCst);
    wait_for("a panicking refresh", || {
        last_code() == Some("crl_internal")
    });
    let failures = crl_failures(&verifier);
    fetcher.panic.store(false, Ordering::SeqCst);
    wait_for("the good CRL loaded", || check().is_ok());
    assert!(!refresher.is_finished(), "the refresher is still running");
    assert!(failures >= 3, "{failures}");
    let fetches = verifier
        .revocation()
        .stats
        .crl_fetches
        .load(Ordering::SeqCst);
    assert!(fetches > failures, "{fetches}");
}
