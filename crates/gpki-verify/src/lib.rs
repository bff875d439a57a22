//! gpki-verify: the certificate engine of gpki-idp.
//!
//! It takes what a citizen card's local signing service returned (a CMS SignedData or a bare
//! PKCS#1 signature with its certificate), checks that it signs exactly the challenge we
//! issued, validates the signer's certificate to the configured GRCA trust anchors through
//! the configured MOICA intermediates, checks revocation (OCSP, CRL), and returns the holder's
//! profile. It has no web and no database code.
//!
//! A verification reads as: [`signature`] → [`path`] → [`revocation`] → [`profile`]; every
//! refusal is one [`Error`] with a stable code.

pub mod algorithm;
mod anchor_signatures;
pub mod error;
pub mod input;
pub mod path;
pub mod profile;
pub mod revocation;
pub mod settings;
pub mod signature;
mod tlv;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use error::{Error, RevocationSource, SourceFailure};
pub use path::{PolicyRules, TrustStore};
pub use profile::CertProfile;
pub use revocation::fetch::{FetchError, HttpFetcher, UreqFetcher};
pub use revocation::{
    CrlRound, RevocationChecker, RevocationConfig, RevocationMode, RevocationStatus,
    WhenUnavailable,
};
pub use signature::{Expected, SignatureInput, TbsEncoding};

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
        let checked = self.check_certificate(&signed.signer_certificate, at)?;
        Ok(Verified {
            profile: checked.profile,
            certificate: signed.signer_certificate,
            issuer: checked.issuer,
            revocation: checked.revocation,
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
        let profile = profile::read(der)?;
        let path = match self
            .trust
            .validate(der, &profile, at, &self.config.policies)
        {
            Err(Error::UnknownIssuer) if self.learn_issuer_from_aia(&profile) => self
                .trust
                .validate(der, &profile, at, &self.config.policies)?,
            other => other?,
        };
        let serial = raw_serial(der)?;
        let revocation = self
            .revocation
            .check(&profile, &serial, &path.issuer, &self.trust, at)?;
        Ok(CheckedCertificate {
            profile,
            issuer: path.issuer.profile.clone(),
            revocation,
        })
    }

    /// Downloads the certificate's issuer from an allowed AIA caIssuers URL, once per URL
    /// (again after [`AIA_RETRY_AFTER`] if nothing usable came). Returns whether a new
    /// intermediate was learned.
    fn learn_issuer_from_aia(&self, profile: &CertProfile) -> bool {
        let now = SystemTime::now();
        let mut learned = false;
        for url in &profile.ca_issuer_urls {
            let allowed = self
                .config
                .aia_allowed_prefixes
                .iter()
                .any(|p| url.starts_with(p.as_str()));
            let Ok(mut tried) = self.aia_tried.lock() else {
                return false;
            };
            let recent = tried.get(url).is_some_and(|t| *t + AIA_RETRY_AFTER > now);
            if !allowed || recent {
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

fn raw_serial(der: &[u8]) -> Result<Vec<u8>, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::MalformedCertificate(e.to_string()))?;
    Ok(cert.raw_serial().to_vec())
}
