//! The engine's entry point: a [`Verifier`] holds the trust store, the settings and the
//! revocation checker, and runs a login's verification as signature → path → revocation,
//! all reading the one parse of the signer's certificate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::certificate::Certificate;
use crate::error::Error;
use crate::input;
use crate::path::{PolicyRules, TrustStore};
use crate::profile::CertProfile;
use crate::revocation::fetch::HttpFetcher;
use crate::revocation::{CrlRound, RevocationChecker, RevocationConfig, RevocationStatus};
use crate::signature::{self, Expected, SignatureInput};

/// Engine settings apart from revocation.
#[derive(Clone, Debug, Default)]
pub struct VerifierConfig {
    /// Accept SHA-1 digests and signatures (default false).
    pub allow_sha1: bool,
    /// Certificate-policy allow and deny lists for signer certificates.
    pub policies: PolicyRules,
    pub revocation: RevocationConfig,
    /// URL prefixes from which a missing intermediate may be downloaded via the signer
    /// certificate's AIA caIssuers (e.g. `http://moica.nat.gov.tw/`). Empty (the default)
    /// turns it off. A prefix list, not a switch: the URL comes from a certificate anyone can
    /// make, so fetching any URL would let strangers steer our requests.
    pub aia_allowed_prefixes: Vec<String>,
}

/// How long before a caIssuers URL that gave nothing usable is tried again.
const AIA_RETRY_AFTER: Duration = Duration::from_secs(600);
/// New caIssuers URLs fetched per [`AIA_RETRY_AFTER`], in all. The URLs come from
/// certificates anyone can make (the diagnostics page checks one without a login): without a
/// total, each made-up URL under an allowed prefix was a download on the request's thread and
/// an entry kept for ever. A real issuer is learned once and then needs no download.
const AIA_MAX_NEW_URLS: usize = 32;
/// caIssuers URLs of one certificate that are tried (a citizen certificate names one).
const AIA_MAX_URLS_PER_CERT: usize = 2;
/// The longest caIssuers URL that is tried.
const AIA_MAX_URL_LEN: usize = 512;

/// A signature accepted by [`Verifier::verify`].
#[derive(Clone, Debug)]
pub struct Verified {
    /// The signer's profile.
    pub profile: CertProfile,
    /// DER of the signer's certificate.
    pub certificate: Vec<u8>,
    /// Profile of the CA that issued it.
    pub issuer: CertProfile,
    pub revocation: RevocationStatus,
    pub signing_time: Option<SystemTime>,
    pub card_serial: Option<String>,
}

/// A certificate accepted by [`Verifier::check_certificate`] (diagnostics: no signature).
#[derive(Clone, Debug)]
pub struct CheckedCertificate {
    pub profile: CertProfile,
    pub issuer: CertProfile,
    pub revocation: RevocationStatus,
}

/// The certificate engine: trust store, policy and revocation checker. Share one per process.
pub struct Verifier {
    trust: TrustStore,
    config: VerifierConfig,
    revocation: RevocationChecker,
    fetcher: Arc<dyn HttpFetcher>,
    aia_tried: std::sync::Mutex<HashMap<String, SystemTime>>,
}

impl Verifier {
    /// An engine over `trust`, fetching OCSP and CRLs with `fetcher`.
    pub fn new(trust: TrustStore, config: VerifierConfig, fetcher: Arc<dyn HttpFetcher>) -> Self {
        let revocation = RevocationChecker::new(config.revocation.clone(), fetcher.clone());
        Self {
            trust,
            config,
            revocation,
            fetcher,
            aia_tried: Default::default(),
        }
    }

    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    pub fn revocation(&self) -> &RevocationChecker {
        &self.revocation
    }

    /// Verifies a card signature over the expected challenge at time `at`.
    pub fn verify(
        &self,
        input: &SignatureInput<'_>,
        expected: &Expected<'_>,
        at: SystemTime,
    ) -> Result<Verified, Error> {
        let signed = signature::verify(input, expected, self.config.allow_sha1)?;
        let (issuer, revocation) = self.check(&signed.signer, at)?;
        Ok(Verified {
            profile: signed.signer.profile,
            certificate: signed.signer.der,
            issuer,
            revocation,
            signing_time: signed.signing_time,
            card_serial: signed.card_serial,
        })
    }

    /// Validates a certificate's path, purpose, policy and revocation, without a signature.
    pub fn check_certificate(
        &self,
        der: &[u8],
        at: SystemTime,
    ) -> Result<CheckedCertificate, Error> {
        let cert = Certificate::parse(der.to_vec())?;
        let (issuer, revocation) = self.check(&cert, at)?;
        Ok(CheckedCertificate {
            profile: cert.profile,
            issuer,
            revocation,
        })
    }

    /// Path, purpose, policy and revocation of a parsed certificate: everything reads the one
    /// parse (webpki makes its own for path validation). Returns the issuer's profile and the
    /// revocation status.
    fn check(
        &self,
        cert: &Certificate,
        at: SystemTime,
    ) -> Result<(CertProfile, RevocationStatus), Error> {
        let policies = &self.config.policies;
        let path = match self.trust.validate(&cert.der, &cert.profile, at, policies) {
            Err(Error::UnknownIssuer) if self.learn_issuer_from_aia(&cert.profile) => self
                .trust
                .validate(&cert.der, &cert.profile, at, policies)?,
            other => other?,
        };
        let revocation =
            self.revocation
                .check(&cert.profile, &cert.serial, &path.issuer, &self.trust, at)?;
        Ok((path.issuer.profile.clone(), revocation))
    }

    /// Downloads the certificate's issuer from an allowed AIA caIssuers URL, once per URL
    /// (again after [`AIA_RETRY_AFTER`] if nothing usable came): at most
    /// [`AIA_MAX_URLS_PER_CERT`] URLs of a certificate, of at most [`AIA_MAX_URL_LEN`]
    /// characters, and at most [`AIA_MAX_NEW_URLS`] new ones per [`AIA_RETRY_AFTER`] in all.
    /// Returns whether a new intermediate was learned.
    fn learn_issuer_from_aia(&self, profile: &CertProfile) -> bool {
        let now = SystemTime::now();
        let mut learned = false;
        let allowed = profile.ca_issuer_urls.iter().filter(|url| {
            url.len() <= AIA_MAX_URL_LEN
                && self
                    .config
                    .aia_allowed_prefixes
                    .iter()
                    .any(|p| url.starts_with(p.as_str()))
        });
        for url in allowed.take(AIA_MAX_URLS_PER_CERT) {
            let Ok(mut tried) = self.aia_tried.lock() else {
                return false;
            };
            tried.retain(|_, t| *t + AIA_RETRY_AFTER > now);
            if tried.contains_key(url) || tried.len() >= AIA_MAX_NEW_URLS {
                continue;
            }
            tried.insert(url.clone(), now);
            drop(tried);
            let certs = self
                .fetcher
                .get(url)
                .ok()
                .and_then(|b| input::certificates(&b));
            for der in certs.unwrap_or_default() {
                learned |= self.trust.learn_intermediate(der);
            }
        }
        learned
    }

    /// Runs one round of CRL refreshes (the background refresher calls this).
    pub fn refresh_crls(
        &self,
        now: SystemTime,
        loaded_at: &mut HashMap<String, SystemTime>,
    ) -> CrlRound {
        self.revocation
            .refresh_due_crls(&self.trust, now, loaded_at)
    }

    /// Starts a thread that refreshes CRLs every `every` until the engine is dropped; after a
    /// round with a failure, the next comes within the configured `crl_retry_interval`.
    pub fn spawn_crl_refresher(self: &Arc<Self>, every: Duration) -> std::thread::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        std::thread::spawn(move || {
            let mut loaded_at = HashMap::new();
            while let Some(engine) = weak.upgrade() {
                // Each refresh catches its own panics; this guards the rest of the round.
                let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    engine.refresh_crls(SystemTime::now(), &mut loaded_at)
                }));
                let pause = match round {
                    Ok(round) if round.failed.is_empty() => every,
                    _ => every.min(engine.config.revocation.crl_retry_interval),
                };
                drop(engine);
                std::thread::sleep(pause);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use gpki_testpki::{sign_cms, CmsOptions, LeafSpec, TestPki};

    use super::*;
    use crate::certificate::PARSES;
    use crate::revocation::fetch::UreqFetcher;
    use crate::revocation::RevocationMode;

    #[test]
    fn a_login_parses_the_teachers_certificate_once() {
        let pki = TestPki::generate();
        let leaf = pki.issue_leaf(&LeafSpec::default());
        let cms = sign_cms(&[&leaf], b"challenge", &CmsOptions::default());
        let trust =
            TrustStore::new(vec![pki.grca.der.clone()], vec![pki.moica.der.clone()]).unwrap();
        let mut config = VerifierConfig::default();
        config.revocation.mode = RevocationMode::None;
        let fetcher = Arc::new(UreqFetcher::new(Duration::from_secs(1), 1 << 20));
        let engine = Verifier::new(trust, config, fetcher);
        let input = SignatureInput::Pkcs7 {
            signature: &cms,
            certificate: None,
        };
        let expected = Expected {
            content: Some(b"challenge"),
            nonce: None,
        };
        PARSES.with(|n| n.set(0));
        engine.verify(&input, &expected, SystemTime::now()).unwrap();
        assert_eq!(PARSES.with(Cell::get), 1);
    }
}
