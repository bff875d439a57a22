//! The engine's settings as an operator writes them (a `[certificate]` table in the service's
//! TOML file): file paths and plain numbers of seconds, turned into a ready [`Verifier`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::algorithm::Hash;
use crate::path::{PolicyRules, TrustStore};
use crate::revocation::fetch::UreqFetcher;
use crate::revocation::{RevocationConfig, RevocationMode, WhenUnavailable};
use crate::{input, Error, Verifier, VerifierConfig};

/// `[certificate]`: trust, purpose and policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificateSettings {
    /// GRCA root certificates (PEM or DER files). Required for certificate login.
    pub trust_anchors: Vec<PathBuf>,
    /// MOICA issuing CA certificates (PEM or DER files).
    pub intermediates: Vec<PathBuf>,
    /// Accept SHA-1 (default false).
    pub allow_sha1: bool,
    /// Certificate policy OIDs a citizen certificate must carry one of (empty: any).
    pub policy_allow: Vec<String>,
    /// Certificate policy OIDs refused.
    pub policy_deny: Vec<String>,
    /// URL prefixes from which missing intermediates may be fetched (AIA caIssuers).
    pub aia_allowed_prefixes: Vec<String>,
    pub revocation: RevocationSettings,
}

/// `[certificate.revocation]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevocationSettings {
    /// `none`, `ocsp`, `crl` or `ocsp-then-crl` (default).
    pub mode: String,
    /// `refuse` (default) or `accept` when neither OCSP nor CRL answers.
    pub when_unavailable: String,
    pub ocsp_url: Option<String>,
    pub crl_urls: Vec<String>,
    pub ocsp_nonce: bool,
    pub ocsp_require_nonce: bool,
    pub ocsp_get: bool,
    /// `sha1` (default) or `sha256`.
    pub ocsp_cert_id_hash: String,
    pub clock_skew_secs: u64,
    pub ocsp_max_age_secs: u64,
    pub ocsp_cache_ttl_secs: u64,
    pub stale_if_error_secs: u64,
    pub crl_refresh_margin_secs: u64,
    pub crl_max_interval_secs: u64,
    /// How often the background refresher looks for CRLs to load (default 60).
    pub crl_check_every_secs: u64,
    /// How soon a failed CRL load is tried again when that is sooner than
    /// `crl_check_every_secs` (default 60).
    pub crl_retry_secs: u64,
    /// Timeout of each OCSP or CRL download (default 5000 ms).
    pub fetch_timeout_ms: u64,
    /// Largest CRL accepted (default 64 MiB).
    pub max_download_bytes: u64,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        let d = RevocationConfig::default();
        Self {
            mode: "ocsp-then-crl".into(),
            when_unavailable: "refuse".into(),
            ocsp_url: None,
            crl_urls: Vec::new(),
            ocsp_nonce: d.ocsp_nonce,
            ocsp_require_nonce: d.ocsp_require_nonce,
            ocsp_get: d.ocsp_get,
            ocsp_cert_id_hash: "sha1".into(),
            clock_skew_secs: d.clock_skew.as_secs(),
            ocsp_max_age_secs: d.ocsp_max_age.as_secs(),
            ocsp_cache_ttl_secs: d.ocsp_cache_ttl.as_secs(),
            stale_if_error_secs: d.stale_if_error.as_secs(),
            crl_refresh_margin_secs: d.crl_refresh_margin.as_secs(),
            crl_max_interval_secs: d.crl_max_interval.as_secs(),
            crl_check_every_secs: 60,
            crl_retry_secs: d.crl_retry_interval.as_secs(),
            fetch_timeout_ms: 5000,
            max_download_bytes: 64 << 20,
        }
    }
}

impl RevocationSettings {
    /// The engine's revocation configuration, or a configuration error naming the setting.
    pub fn to_config(&self) -> Result<RevocationConfig, Error> {
        let mode: RevocationMode = self.mode.parse().map_err(Error::Config)?;
        let when_unavailable = match self.when_unavailable.as_str() {
            "refuse" => WhenUnavailable::Refuse,
            "accept" => WhenUnavailable::Accept,
            other => {
                return Err(Error::Config(format!(
                    "when_unavailable: `{other}` (refuse, accept)"
                )))
            }
        };
        let ocsp_cert_id_hash = match self.ocsp_cert_id_hash.as_str() {
            "sha1" => Hash::Sha1,
            "sha256" => Hash::Sha256,
            other => {
                return Err(Error::Config(format!(
                    "ocsp_cert_id_hash: `{other}` (sha1, sha256)"
                )))
            }
        };
        let secs = Duration::from_secs;
        Ok(RevocationConfig {
            mode,
            when_unavailable,
            ocsp_url: self.ocsp_url.clone(),
            crl_urls: self.crl_urls.clone(),
            ocsp_nonce: self.ocsp_nonce,
            ocsp_require_nonce: self.ocsp_require_nonce,
            ocsp_get: self.ocsp_get,
            ocsp_cert_id_hash,
            clock_skew: secs(self.clock_skew_secs),
            ocsp_max_age: secs(self.ocsp_max_age_secs),
            ocsp_cache_ttl: secs(self.ocsp_cache_ttl_secs),
            stale_if_error: secs(self.stale_if_error_secs),
            crl_fetch_on_miss: false,
            crl_refresh_margin: secs(self.crl_refresh_margin_secs),
            crl_max_interval: secs(self.crl_max_interval_secs),
            crl_retry_interval: secs(self.crl_retry_secs.max(1)),
        })
    }
}

impl CertificateSettings {
    /// Reads the certificate files and builds the engine (no network call is made here).
    pub fn build(&self) -> Result<Verifier, Error> {
        let read_all = |paths: &[PathBuf]| -> Result<Vec<Vec<u8>>, Error> {
            let mut out = Vec::new();
            for path in paths {
                let bytes = std::fs::read(path)
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                let certs = input::certificates(&bytes)
                    .ok_or_else(|| Error::Config(format!("{}: no certificate", path.display())))?;
                out.extend(certs);
            }
            Ok(out)
        };
        let trust = TrustStore::new(
            read_all(&self.trust_anchors)?,
            read_all(&self.intermediates)?,
        )?;
        let config = VerifierConfig {
            allow_sha1: self.allow_sha1,
            policies: PolicyRules {
                allow: self.policy_allow.clone(),
                deny: self.policy_deny.clone(),
            },
            revocation: self.revocation.to_config()?,
            aia_allowed_prefixes: self.aia_allowed_prefixes.clone(),
        };
        let r = &self.revocation;
        let fetcher = UreqFetcher::new(
            Duration::from_millis(r.fetch_timeout_ms.max(1)),
            r.max_download_bytes,
        );
        Ok(Verifier::new(trust, config, Arc::new(fetcher)))
    }

    /// Builds the engine and starts its background CRL refresher.
    pub fn start(&self) -> Result<Arc<Verifier>, Error> {
        let engine = Arc::new(self.build()?);
        let every = Duration::from_secs(self.revocation.crl_check_every_secs.max(1));
        engine.spawn_crl_refresher(every);
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_engine_defaults() {
        let built = RevocationSettings::default().to_config().unwrap();
        let engine = RevocationConfig::default();
        assert_eq!(built.mode, engine.mode);
        assert_eq!(built.when_unavailable, WhenUnavailable::Refuse);
        assert_eq!(built.clock_skew, engine.clock_skew);
        assert_eq!(built.ocsp_cache_ttl, engine.ocsp_cache_ttl);
        assert!(
            !built.crl_fetch_on_miss,
            "never fetch a CRL on the login path"
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        let bad = RevocationSettings {
            mode: "sometimes".into(),
            ..Default::default()
        };
        assert!(bad
            .to_config()
            .unwrap_err()
            .to_string()
            .contains("sometimes"));
        let bad = RevocationSettings {
            when_unavailable: "maybe".into(),
            ..Default::default()
        };
        assert!(bad
            .to_config()
            .unwrap_err()
            .to_string()
            .contains("when_unavailable"));
        let missing = CertificateSettings {
            trust_anchors: vec!["/nonexistent.pem".into()],
            ..Default::default()
        };
        assert_eq!(
            missing.build().err().map(|e| e.code()),
            Some("invalid_configuration")
        );
    }

    #[test]
    fn the_real_g3_pair_loads_from_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/gpki-certs");
        let settings = CertificateSettings {
            trust_anchors: vec![dir.join("GRCA-G3.cer")],
            intermediates: vec![dir.join("MOICA-G3.cer")],
            ..Default::default()
        };
        let engine = settings.build().expect("engine from the shipped G3 files");
        assert_eq!(engine.trust().cas().len(), 2);
    }
}

#[cfg(test)]
mod toml_tests {
    use super::*;

    #[test]
    fn documented_example_parses_and_typos_are_refused() {
        let example = r#"
            trust_anchors = ["/etc/gpki-idp/GRCA-G3.cer"]
            intermediates = ["/etc/gpki-idp/MOICA-G3.cer"]
            policy_allow = ["2.16.886.101.0.3.3"]
            [revocation]
            mode = "ocsp-then-crl"
            when_unavailable = "refuse"
            ocsp_cache_ttl_secs = 600
        "#;
        let parsed: CertificateSettings = toml::from_str(example).unwrap();
        assert_eq!(parsed.revocation.ocsp_cache_ttl_secs, 600);
        assert_eq!(
            parsed.revocation.clock_skew_secs, 300,
            "unset keys keep their defaults"
        );
        let typo = "trust_anchor = [\"x\"]";
        assert!(toml::from_str::<CertificateSettings>(typo).is_err());
    }
}
