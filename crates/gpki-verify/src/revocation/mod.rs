//! Revocation checking: OCSP with a response cache, CRLs indexed in the background, the
//! operator's mode, and what to do when no status can be had.

pub mod crl;
pub mod fetch;
pub mod ocsp;
pub mod shared;

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::algorithm::Hash;
use crate::error::{RevocationSource, SourceFailure};
use crate::path::{CaCertificate, TrustStore};
use crate::profile::CertProfile;
use crate::Error;
use crl::{CrlCache, CrlIndex};
use fetch::HttpFetcher;
use ocsp::{Acceptance, CertState};

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

/// Counters for metrics and for tests that must see a cache hit.
#[derive(Debug, Default)]
pub struct RevocationStats {
    pub ocsp_fetches: AtomicU64,
    pub ocsp_cache_hits: AtomicU64,
    /// Verdicts found in the cache shared with other replicas.
    pub ocsp_shared_hits: AtomicU64,
    pub ocsp_failures: AtomicU64,
    pub ocsp_stale_served: AtomicU64,
    pub crl_fetches: AtomicU64,
    /// Failed CRL loads: download, parse, signature, validity, or a panic while loading.
    pub crl_failures: AtomicU64,
    pub crl_lookups: AtomicU64,
    pub unavailable_accepted: AtomicU64,
    /// Time spent waiting for OCSP responders and CRL downloads (microseconds, summed), so
    /// that the mean fetch latency is `*_fetch_micros / *_fetches`.
    pub ocsp_fetch_micros: AtomicU64,
    pub crl_fetch_micros: AtomicU64,
}

/// `t + d`, with `d` capped at 1000 years: durations come from operators and other replicas,
/// and `SystemTime + Duration` panics on overflow.
pub(crate) fn after(t: SystemTime, d: Duration) -> SystemTime {
    const MAX: Duration = Duration::from_secs(1000 * 365 * 86_400);
    t.checked_add(d.min(MAX)).unwrap_or(t)
}

/// One background round: the CRL URLs loaded and those that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrlRound {
    pub refreshed: Vec<String>,
    pub failed: Vec<String>,
}

/// Adds the time since `start` to `total` (microseconds).
fn add_elapsed(total: &AtomicU64, start: std::time::Instant) {
    total.fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
}

#[derive(Clone)]
struct CachedOcsp {
    state: CertState,
    fresh_until: SystemTime,
}

/// A loaded CRL, for metrics and the CLI.
#[derive(Clone, Debug, Serialize)]
pub struct CrlInfo {
    pub url: String,
    pub entries: usize,
    pub bytes: usize,
    pub this_update: u64,
    pub next_update: Option<u64>,
}

/// Checks revocation for validated certificates; shared by all logins of a process.
pub struct RevocationChecker {
    config: RevocationConfig,
    fetcher: Arc<dyn HttpFetcher>,
    ocsp_cache: Mutex<HashMap<(String, String), CachedOcsp>>,
    shared: RwLock<Option<Arc<dyn shared::SharedStatusCache>>>,
    crls: RwLock<CrlCache>,
    wanted_crls: Mutex<HashSet<String>>,
    pub stats: RevocationStats,
}

fn crl_panicked(url: &str) -> SourceFailure {
    crl::failure("crl_internal", format!("{url}: loading the CRL panicked"))
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl RevocationChecker {
    pub fn new(config: RevocationConfig, fetcher: Arc<dyn HttpFetcher>) -> Self {
        let wanted = config.crl_urls.iter().cloned().collect();
        Self {
            config,
            fetcher,
            ocsp_cache: Mutex::new(HashMap::new()),
            shared: RwLock::new(None),
            crls: RwLock::new(CrlCache::default()),
            wanted_crls: Mutex::new(wanted),
            stats: RevocationStats::default(),
        }
    }

    pub fn config(&self) -> &RevocationConfig {
        &self.config
    }

    /// Shares OCSP verdicts with other replicas through `cache`.
    pub fn set_shared_cache(&self, cache: Arc<dyn shared::SharedStatusCache>) {
        if let Ok(mut slot) = self.shared.write() {
            *slot = Some(cache);
        }
    }

    fn shared_cache(&self) -> Option<Arc<dyn shared::SharedStatusCache>> {
        self.shared.read().ok().and_then(|s| s.clone())
    }

    fn remember(&self, key: (String, String), state: CertState, fresh_until: SystemTime) {
        if let Ok(mut cache) = self.ocsp_cache.lock() {
            cache.insert(key, CachedOcsp { state, fresh_until });
        }
    }

    /// A fresh verdict another replica stored, kept locally too.
    fn shared_hit(&self, key: &(String, String), now: SystemTime) -> Option<CertState> {
        let text = self.shared_cache()?.get(&shared::key(&key.0, &key.1))?;
        let (state, fresh_until) = shared::decode(&text).filter(|(_, until)| now <= *until)?;
        self.stats.ocsp_shared_hits.fetch_add(1, Ordering::Relaxed);
        self.remember(key.clone(), state, fresh_until);
        Some(state)
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
        let cached = self
            .ocsp_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned());
        if let Some(hit) = cached.as_ref().filter(|c| now <= c.fresh_until) {
            self.stats.ocsp_cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit.state);
        }
        if let Some(state) = self.shared_hit(&key, now) {
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
                if let (Some(store), Ok(ttl)) =
                    (self.shared_cache(), fresh_until.duration_since(now))
                {
                    let value = shared::encode(answer.state, fresh_until);
                    store.put(&shared::key(&key.0, &key.1), &value, ttl);
                }
                self.remember(key, answer.state, fresh_until);
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
        let started = std::time::Instant::now();
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
            leaf.crl_urls.clone()
        } else {
            self.config.crl_urls.clone()
        };
        if urls.is_empty() {
            return Err(vec![crl::failure("crl_no_url", "certificate names no CRL")]);
        }
        self.stats.crl_lookups.fetch_add(1, Ordering::Relaxed);
        let mut failures = Vec::new();
        for url in &urls {
            match self.crl_for(url, issuer, trust, now) {
                Ok(list) if list.is_revoked(serial) => return Ok(CertState::Revoked),
                Ok(_) => return Ok(CertState::Good),
                Err(f) => failures.push(f),
            }
        }
        Err(failures)
    }

    /// The loaded CRL at `url`, if it is from `issuer` and current; loads it only when
    /// `crl_fetch_on_miss` is set, otherwise asks the background refresher for it.
    fn crl_for(
        &self,
        url: &str,
        issuer: &CaCertificate,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<Arc<CrlIndex>, SourceFailure> {
        let loaded = self
            .crls
            .read()
            .ok()
            .and_then(|c| c.lists.get(url).cloned());
        let list = match loaded {
            Some(list) => list,
            None if self.config.crl_fetch_on_miss => self.refresh_crl(url, trust, now)?,
            None => {
                if let Ok(mut wanted) = self.wanted_crls.lock() {
                    wanted.insert(url.to_string());
                }
                let last = self
                    .crls
                    .read()
                    .ok()
                    .and_then(|c| c.last_failure.get(url).cloned());
                return Err(last.unwrap_or_else(|| {
                    crl::failure("crl_not_loaded", format!("{url} not loaded yet"))
                }));
            }
        };
        if list.issuer_sha256 != issuer.profile.sha256 {
            return Err(crl::failure(
                "crl_wrong_issuer",
                format!("{url} is not from the certificate's issuer"),
            ));
        }
        if list.expired(now, self.config.clock_skew) {
            return Err(crl::failure(
                "crl_expired",
                format!("{url} is past its nextUpdate"),
            ));
        }
        Ok(list)
    }

    /// Downloads, verifies and indexes the CRL at `url`. On failure the previous good copy
    /// stays in use. Never call this on the login path.
    pub fn refresh_crl(
        &self,
        url: &str,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<Arc<CrlIndex>, SourceFailure> {
        self.stats.crl_fetches.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let fetched = self.fetcher.get(url);
        add_elapsed(&self.stats.crl_fetch_micros, started);
        let result = fetched
            .map_err(|e| {
                let code = if e.timeout {
                    "crl_timeout"
                } else {
                    "crl_unreachable"
                };
                crl::failure(code, format!("{url}: {}", e.detail))
            })
            .and_then(|der| {
                // A parser bug on a hostile CRL must fail this load, not the caller's thread.
                let (cas, skew) = (trust.cas(), self.config.clock_skew);
                catch_unwind(AssertUnwindSafe(|| crl::index(&der, &cas, now, skew)))
                    .unwrap_or_else(|_| Err(crl_panicked(url)))
            });
        match result {
            Ok(list) => {
                let list = Arc::new(list);
                let mut cache = self
                    .crls
                    .write()
                    .map_err(|_| crl::failure("crl_internal", "lock poisoned"))?;
                cache.lists.insert(url.to_string(), list.clone());
                cache.last_failure.remove(url);
                Ok(list)
            }
            Err(f) => Err(self.crl_failed(url, f)),
        }
    }

    /// Counts a failed load of `url` and keeps it for logins to report; the loaded copy, if
    /// any, stays.
    fn crl_failed(&self, url: &str, f: SourceFailure) -> SourceFailure {
        self.stats.crl_failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut cache) = self.crls.write() {
            cache.last_failure.insert(url.to_string(), f.clone());
        }
        f
    }

    /// CRL URLs that should be (re)loaded at `now`: never loaded, asked for by a login,
    /// near their nextUpdate, or older than the maximum interval.
    pub fn crls_due(
        &self,
        now: SystemTime,
        loaded_at: &HashMap<String, SystemTime>,
    ) -> Vec<String> {
        let mut urls: HashSet<String> = self
            .wanted_crls
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default();
        if let Ok(cache) = self.crls.read() {
            urls.extend(cache.lists.keys().cloned());
            urls.retain(|url| match cache.lists.get(url) {
                None => true,
                Some(list) => {
                    let near_next = list
                        .next_update
                        .is_some_and(|n| n <= after(now, self.config.crl_refresh_margin));
                    let old = loaded_at
                        .get(url)
                        .is_none_or(|t| after(*t, self.config.crl_max_interval) <= now);
                    near_next || old
                }
            });
        }
        let mut urls: Vec<String> = urls.into_iter().collect();
        urls.sort();
        urls
    }

    /// Runs one round of background CRL refreshes. A failed URL stays due (its loaded copy,
    /// if any, stays in use), so the next round tries it again.
    pub fn refresh_due_crls(
        &self,
        trust: &TrustStore,
        now: SystemTime,
        loaded_at: &mut HashMap<String, SystemTime>,
    ) -> CrlRound {
        let mut round = CrlRound::default();
        for url in self.crls_due(now, loaded_at) {
            // Whatever panics in one refresh (fetcher, parser) must not end the refresher.
            let result = catch_unwind(AssertUnwindSafe(|| self.refresh_crl(&url, trust, now)))
                .unwrap_or_else(|_| Err(self.crl_failed(&url, crl_panicked(&url))));
            if result.is_ok() {
                loaded_at.insert(url.clone(), now);
                if let Ok(mut wanted) = self.wanted_crls.lock() {
                    wanted.remove(&url);
                }
                round.refreshed.push(url);
            } else {
                round.failed.push(url);
            }
        }
        round
    }

    /// The CRLs in memory.
    pub fn crl_info(&self) -> Vec<CrlInfo> {
        let Ok(cache) = self.crls.read() else {
            return Vec::new();
        };
        let mut out: Vec<CrlInfo> = cache
            .lists
            .iter()
            .map(|(url, l)| CrlInfo {
                url: url.clone(),
                entries: l.entries,
                bytes: l.bytes,
                this_update: unix(l.this_update),
                next_update: l.next_update.map(unix),
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }
}
