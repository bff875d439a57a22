//! The revocation checker: asks the sources in the operator's order (OCSP through its cache,
//! then the indexed CRLs) and applies the policy when none gives a status.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::clock::after;
use super::crl::{self, CrlIndex};
use super::crl_store::{CrlInfo, CrlRound, CrlStore};
use super::fetch::HttpFetcher;
use super::ocsp::{self, Acceptance, CertState};
use super::ocsp_cache::OcspCache;
use super::policy::{RevocationConfig, RevocationMode, RevocationStatus, WhenUnavailable};
use super::shared::SharedStatusCache;
use super::stats::{add_elapsed, RevocationStats};
use crate::error::{RevocationSource, SourceFailure};
use crate::path::{CaCertificate, TrustStore};
use crate::profile::CertProfile;
use crate::Error;

/// Checks revocation for validated certificates; shared by all logins of a process.
pub struct RevocationChecker {
    config: RevocationConfig,
    fetcher: Arc<dyn HttpFetcher>,
    ocsp_cache: OcspCache,
    crls: CrlStore,
    pub stats: RevocationStats,
}

impl RevocationChecker {
    pub fn new(config: RevocationConfig, fetcher: Arc<dyn HttpFetcher>) -> Self {
        Self {
            crls: CrlStore::new(config.clone(), fetcher.clone()),
            config,
            fetcher,
            ocsp_cache: OcspCache::default(),
            stats: RevocationStats::default(),
        }
    }

    pub fn config(&self) -> &RevocationConfig {
        &self.config
    }

    /// Shares OCSP verdicts with other replicas through `cache`.
    pub fn set_shared_cache(&self, cache: Arc<dyn SharedStatusCache>) {
        self.ocsp_cache.set_shared(cache);
    }

    /// Checks `leaf` (validated, issued by `issuer`).
    pub fn check(
        &self,
        leaf: &CertProfile,
        leaf_serial: &[u8],
        issuer: &CaCertificate,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<RevocationStatus, Error> {
        let mut failures = Vec::new();
        let sources: &[RevocationSource] = match self.config.mode {
            RevocationMode::None => return Ok(RevocationStatus::NotChecked),
            RevocationMode::Ocsp => &[RevocationSource::Ocsp],
            RevocationMode::Crl => &[RevocationSource::Crl],
            RevocationMode::OcspThenCrl => &[RevocationSource::Ocsp, RevocationSource::Crl],
        };
        for source in sources {
            let answer = match source {
                RevocationSource::Ocsp => self.ocsp_state(leaf, leaf_serial, issuer, now),
                RevocationSource::Crl => self.crl_state(leaf, leaf_serial, issuer, trust, now),
            };
            match answer {
                Ok(CertState::Good) => return Ok(RevocationStatus::Good { source: *source }),
                Ok(CertState::Revoked) => return Err(Error::CertRevoked { by: *source }),
                Ok(CertState::Unknown) => return Err(Error::CertStatusUnknown),
                Err(mut f) => failures.append(&mut f),
            }
        }
        match self.config.when_unavailable {
            WhenUnavailable::Refuse => Err(Error::RevocationUnavailable(failures)),
            WhenUnavailable::Accept => {
                self.stats
                    .unavailable_accepted
                    .fetch_add(1, Ordering::Relaxed);
                Ok(RevocationStatus::Unavailable { failures })
            }
        }
    }

    fn ocsp_state(
        &self,
        leaf: &CertProfile,
        serial: &[u8],
        issuer: &CaCertificate,
        now: SystemTime,
    ) -> Result<CertState, Vec<SourceFailure>> {
        let key = (issuer.profile.sha256.clone(), leaf.serial_hex.clone());
        let cached = self.ocsp_cache.local(&key);
        if let Some(hit) = cached.filter(|c| now <= c.fresh_until) {
            self.stats.ocsp_cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.state);
        }
        if let Some(state) = self.ocsp_cache.shared_hit(&key, now, &self.stats) {
            return Ok(state);
        }
        let url = self
            .config
            .ocsp_url
            .clone()
            .or_else(|| leaf.ocsp_urls.first().cloned())
            .ok_or_else(|| {
                vec![ocsp::failure(
                    "ocsp_no_url",
                    "certificate names no OCSP responder",
                )]
            })?;
        match self.ask_ocsp(&url, serial, issuer, now) {
            Ok(answer) => {
                let ttl_end = after(now, self.config.ocsp_cache_ttl);
                let fresh_until = answer.next_update.map_or(ttl_end, |n| n.min(ttl_end));
                self.ocsp_cache.store(key, answer.state, fresh_until, now);
                Ok(answer.state)
            }
            Err(failure) => {
                self.stats.ocsp_failures.fetch_add(1, Ordering::Relaxed);
                let stale =
                    cached.filter(|c| now <= after(c.fresh_until, self.config.stale_if_error));
                match stale {
                    Some(c) => {
                        self.stats.ocsp_stale_served.fetch_add(1, Ordering::Relaxed);
                        Ok(c.state)
                    }
                    None => Err(vec![failure]),
                }
            }
        }
    }

    fn ask_ocsp(
        &self,
        url: &str,
        serial: &[u8],
        issuer: &CaCertificate,
        now: SystemTime,
    ) -> Result<ocsp::OcspAnswer, SourceFailure> {
        let id = ocsp::cert_id(issuer, serial, self.config.ocsp_cert_id_hash)?;
        let nonce = self.config.ocsp_nonce.then(ocsp::new_nonce);
        let request = ocsp::request_der(&id, nonce.as_deref())?;
        self.stats.ocsp_fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = if self.config.ocsp_get {
            self.fetcher.get(&ocsp::get_url(url, &request))
        } else {
            self.fetcher.post(url, "application/ocsp-request", &request)
        };
        add_elapsed(&self.stats.ocsp_fetch_micros, started);
        let response = response.map_err(|e| {
            let code = if e.timeout {
                "ocsp_timeout"
            } else {
                "ocsp_unreachable"
            };
            ocsp::failure(code, format!("{url}: {}", e.detail))
        })?;
        let rules = Acceptance {
            clock_skew: self.config.clock_skew,
            max_age: self.config.ocsp_max_age,
            require_nonce: self.config.ocsp_require_nonce,
        };
        ocsp::check_response(&response, &id, issuer, nonce.as_deref(), now, &rules)
    }

    fn crl_state(
        &self,
        leaf: &CertProfile,
        serial: &[u8],
        issuer: &CaCertificate,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<CertState, Vec<SourceFailure>> {
        let urls = if self.config.crl_urls.is_empty() {
            &leaf.crl_urls
        } else {
            &self.config.crl_urls
        };
        if urls.is_empty() {
            return Err(vec![crl::failure("crl_no_url", "certificate names no CRL")]);
        }
        self.stats.crl_lookups.fetch_add(1, Ordering::Relaxed);
        let mut failures = Vec::new();
        for url in urls {
            match self.crls.get(url, issuer, trust, now, &self.stats) {
                Ok(list) if list.is_revoked(serial) => return Ok(CertState::Revoked),
                Ok(_) => return Ok(CertState::Good),
                Err(f) => failures.push(f),
            }
        }
        Err(failures)
    }

    /// Downloads, verifies and indexes the CRL at `url`. On failure the previous good copy
    /// stays in use. Never call this on the login path.
    pub fn refresh_crl(
        &self,
        url: &str,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<Arc<CrlIndex>, SourceFailure> {
        self.crls.refresh(url, trust, now, &self.stats)
    }

    /// CRL URLs that should be (re)loaded at `now`: never loaded, asked for by a login,
    /// near their nextUpdate, or older than the maximum interval.
    pub fn crls_due(
        &self,
        now: SystemTime,
        loaded_at: &HashMap<String, SystemTime>,
    ) -> Vec<String> {
        self.crls.due(now, loaded_at)
    }

    /// Runs one round of background CRL refreshes. A failed URL stays due (its loaded copy,
    /// if any, stays in use), so the next round tries it again.
    pub fn refresh_due_crls(
        &self,
        trust: &TrustStore,
        now: SystemTime,
        loaded_at: &mut HashMap<String, SystemTime>,
    ) -> CrlRound {
        self.crls.refresh_due(trust, now, loaded_at, &self.stats)
    }

    /// The CRLs in memory.
    pub fn crl_info(&self) -> Vec<CrlInfo> {
        self.crls.info()
    }
}
