//! The operator's revocation policy and the outcome of a check: which sources are asked in
//! which order, every duration with its default, and what happens when no source answers.

use std::time::Duration;

use serde::Serialize;

use crate::algorithm::Hash;
use crate::error::{RevocationSource, SourceFailure};

/// Which sources are asked, in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationMode {
    /// No revocation check (tests and diagnostics only).
    None,
    Ocsp,
    Crl,
    /// OCSP first; the CRL when OCSP gives no usable answer. The default.
    OcspThenCrl,
}

impl std::str::FromStr for RevocationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "ocsp" => Ok(Self::Ocsp),
            "crl" => Ok(Self::Crl),
            "ocsp-then-crl" => Ok(Self::OcspThenCrl),
            other => Err(format!(
                "unknown revocation mode `{other}` (none, ocsp, crl, ocsp-then-crl)"
            )),
        }
    }
}

/// What happens when every configured source fails: an explicit operator choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenUnavailable {
    /// Refuse the login (`revocation_unavailable`). The default.
    Refuse,
    /// Accept it, reported as `unavailable` in the result, metrics and logs.
    Accept,
}

/// Revocation settings. Every duration has a documented default in [`Default`].
#[derive(Clone, Debug)]
pub struct RevocationConfig {
    pub mode: RevocationMode,
    pub when_unavailable: WhenUnavailable,
    /// Responder URL used instead of the certificate's AIA.
    pub ocsp_url: Option<String>,
    /// CRL URLs used instead of the certificate's CRL distribution points.
    pub crl_urls: Vec<String>,
    /// Send a nonce in OCSP requests (default true); a wrong echo is always refused.
    pub ocsp_nonce: bool,
    /// Refuse OCSP responses without the nonce (default false: many responders omit it).
    pub ocsp_require_nonce: bool,
    /// Use HTTP GET for OCSP (default false: POST).
    pub ocsp_get: bool,
    /// Hash of the CertID (default SHA-1, what legacy responders expect).
    pub ocsp_cert_id_hash: Hash,
    /// Clock skew tolerated on thisUpdate/nextUpdate (default 5 minutes).
    pub clock_skew: Duration,
    /// Oldest OCSP thisUpdate accepted (default 24 hours).
    pub ocsp_max_age: Duration,
    /// Longest an OCSP answer is cached, also bounded by its nextUpdate (default 1 hour).
    pub ocsp_cache_ttl: Duration,
    /// How long past its cache lifetime a cached answer may serve when the responder
    /// fails (default 0: off).
    pub stale_if_error: Duration,
    /// Fetch and index a missing CRL during the check (default false: never on the login
    /// path; the background refresher loads it). The CLI turns it on.
    pub crl_fetch_on_miss: bool,
    /// Refresh a CRL this long before its nextUpdate (default 1 hour).
    pub crl_refresh_margin: Duration,
    /// Refresh a CRL at least this often (default 6 hours).
    pub crl_max_interval: Duration,
    /// After a background round with a failed refresh, the next round comes this soon if
    /// sooner than the usual check interval (default 1 minute).
    pub crl_retry_interval: Duration,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        Self {
            mode: RevocationMode::OcspThenCrl,
            when_unavailable: WhenUnavailable::Refuse,
            ocsp_url: None,
            crl_urls: Vec::new(),
            ocsp_nonce: true,
            ocsp_require_nonce: false,
            ocsp_get: false,
            ocsp_cert_id_hash: Hash::Sha1,
            clock_skew: Duration::from_secs(300),
            ocsp_max_age: Duration::from_secs(24 * 3600),
            ocsp_cache_ttl: Duration::from_secs(3600),
            stale_if_error: Duration::ZERO,
            crl_fetch_on_miss: false,
            crl_refresh_margin: Duration::from_secs(3600),
            crl_max_interval: Duration::from_secs(6 * 3600),
            crl_retry_interval: Duration::from_secs(60),
        }
    }
}

/// The outcome of a revocation check that lets the login go on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RevocationStatus {
    /// A source said good.
    Good { source: RevocationSource },
    /// Checking is off (`mode = none`).
    NotChecked,
    /// No source answered and the operator chose to accept.
    Unavailable {
        #[serde(skip)]
        failures: Vec<SourceFailure>,
    },
}
