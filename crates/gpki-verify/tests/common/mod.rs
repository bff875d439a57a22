//! Shared fixtures: one test hierarchy per test binary (RSA-4096 key generation is slow), one
//! revocation server per test (behaviours differ between tests).

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gpki_testpki::{LeafSpec, RevocationServer, TestPki};
use gpki_verify::path::TrustStore;
use gpki_verify::revocation::fetch::{FetchError, HttpFetcher, UreqFetcher};
use gpki_verify::revocation::RevocationMode;
use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::{Verifier, VerifierConfig};

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(TestPki::generate)
}

/// A second hierarchy with the same names but other keys.
pub fn stranger_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(TestPki::generate)
}

pub fn trust() -> TrustStore {
    let pki = pki();
    TrustStore::new(vec![pki.grca.der.clone()], vec![pki.moica.der.clone()]).expect("trust store")
}

/// Counts calls to the real fetcher.
pub struct CountingFetcher {
    inner: UreqFetcher,
    pub calls: std::sync::atomic::AtomicUsize,
}

impl CountingFetcher {
    pub fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner: UreqFetcher::new(timeout, 64 << 20),
            calls: Default::default(),
        })
    }
}

impl HttpFetcher for CountingFetcher {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(url)
    }
    fn post(&self, url: &str, ct: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.post(url, ct, body)
    }
}

/// A revocation server, a leaf pointing at it, and a verifier in `mode`.
pub struct Env {
    pub server: RevocationServer,
    pub leaf: gpki_testpki::Leaf,
    pub verifier: Verifier,
    pub fetcher: Arc<CountingFetcher>,
}

pub fn env(
    mode: RevocationMode,
    spec: impl FnOnce(&mut LeafSpec),
    cfg: impl FnOnce(&mut VerifierConfig),
) -> Env {
    let pki = pki();
    let server = RevocationServer::start(pki, &pki.moica);
    let mut leaf_spec = LeafSpec {
        ocsp_url: Some(server.ocsp_url()),
        crl_url: Some(server.crl_url("moica")),
        ..LeafSpec::default()
    };
    spec(&mut leaf_spec);
    let leaf = pki.issue_leaf(&leaf_spec);
    let mut config = VerifierConfig::default();
    config.revocation.mode = mode;
    config.revocation.crl_fetch_on_miss = true;
    cfg(&mut config);
    let fetcher = CountingFetcher::new(Duration::from_millis(800));
    let verifier = Verifier::new(trust(), config, fetcher.clone());
    Env {
        server,
        leaf,
        verifier,
        fetcher,
    }
}

pub const CHALLENGE: &[u8] = b"gpki-idp challenge 3q2+7w==";

/// Signs the challenge with `leaf` as the card would and verifies it with `env` at `at`.
pub fn sign_and_verify(
    env: &Env,
    leaf: &gpki_testpki::Leaf,
    at: std::time::SystemTime,
) -> Result<gpki_verify::Verified, gpki_verify::Error> {
    let cms = gpki_testpki::sign_cms(&[leaf], CHALLENGE, &gpki_testpki::CmsOptions::default());
    let input = SignatureInput::Pkcs7 {
        signature: &cms,
        certificate: None,
    };
    let exp = Expected {
        content: Some(CHALLENGE),
        nonce: None,
    };
    env.verifier.verify(&input, &exp, at)
}
