//! The CRLs in memory: loaded, verified and indexed by the background refresher (or on a miss
//! when the operator allows it), looked up by URL during a login, and the last failure of each
//! URL kept for logins to report.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::clock::{after, unix};
use super::crl::{self, CrlIndex};
use super::fetch::HttpFetcher;
use super::policy::RevocationConfig;
use super::stats::{add_elapsed, RevocationStats};
use crate::error::SourceFailure;
use crate::path::{CaCertificate, TrustStore};

/// One background round: the CRL URLs loaded and those that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrlRound {
    pub refreshed: Vec<String>,
    pub failed: Vec<String>,
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

/// Known CRLs by URL, with the last failure of each.
#[derive(Default)]
struct Loaded {
    lists: HashMap<String, Arc<CrlIndex>>,
    last_failure: HashMap<String, SourceFailure>,
}

/// The CRLs of one revocation checker.
pub(super) struct CrlStore {
    config: RevocationConfig,
    fetcher: Arc<dyn HttpFetcher>,
    loaded: RwLock<Loaded>,
    /// URLs a login or the configuration asked for that are not loaded yet.
    wanted: Mutex<HashSet<String>>,
}

fn crl_panicked(url: &str) -> SourceFailure {
    crl::failure("crl_internal", format!("{url}: loading the CRL panicked"))
}

impl CrlStore {
    pub(super) fn new(config: RevocationConfig, fetcher: Arc<dyn HttpFetcher>) -> Self {
        let wanted = config.crl_urls.iter().cloned().collect();
        Self {
            config,
            fetcher,
            loaded: RwLock::new(Loaded::default()),
            wanted: Mutex::new(wanted),
        }
    }

    /// The loaded CRL at `url`, if it is from `issuer` and current; loads it only when
    /// `crl_fetch_on_miss` is set, otherwise asks the background refresher for it.
    pub(super) fn get(
        &self,
        url: &str,
        issuer: &CaCertificate,
        trust: &TrustStore,
        now: SystemTime,
        stats: &RevocationStats,
    ) -> Result<Arc<CrlIndex>, SourceFailure> {
        let loaded = self
            .loaded
            .read()
            .ok()
            .and_then(|c| c.lists.get(url).cloned());
        let list = match loaded {
            Some(list) => list,
            None if self.config.crl_fetch_on_miss => self.refresh(url, trust, now, stats)?,
            None => {
                if let Ok(mut wanted) = self.wanted.lock() {
                    wanted.insert(url.to_string());
                }
                let last = self
                    .loaded
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
    pub(super) fn refresh(
        &self,
        url: &str,
        trust: &TrustStore,
        now: SystemTime,
        stats: &RevocationStats,
    ) -> Result<Arc<CrlIndex>, SourceFailure> {
        stats.crl_fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let fetched = self.fetcher.get(url);
        add_elapsed(&stats.crl_fetch_micros, started);
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
                let mut loaded = self
                    .loaded
                    .write()
                    .map_err(|_| crl::failure("crl_internal", "lock poisoned"))?;
                loaded.lists.insert(url.to_string(), list.clone());
                loaded.last_failure.remove(url);
                Ok(list)
            }
            Err(f) => Err(self.failed(url, f, stats)),
        }
    }

    /// Counts a failed load of `url` and keeps it for logins to report; the loaded copy, if
    /// any, stays.
    fn failed(&self, url: &str, f: SourceFailure, stats: &RevocationStats) -> SourceFailure {
        stats.crl_failures.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut loaded) = self.loaded.write() {
            loaded.last_failure.insert(url.to_string(), f.clone());
        }
        f
    }

    /// CRL URLs that should be (re)loaded at `now`: never loaded, asked for by a login,
    /// near their nextUpdate, or older than the maximum interval.
    pub(super) fn due(
        &self,
        now: SystemTime,
        loaded_at: &HashMap<String, SystemTime>,
    ) -> Vec<String> {
        let mut urls: HashSet<String> = self.wanted.lock().map(|w| w.clone()).unwrap_or_default();
        if let Ok(loaded) = self.loaded.read() {
            urls.extend(loaded.lists.keys().cloned());
            urls.retain(|url| match loaded.lists.get(url) {
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

    /// Runs one round of background refreshes. A failed URL stays due (its loaded copy, if
    /// any, stays in use), so the next round tries it again.
    pub(super) fn refresh_due(
        &self,
        trust: &TrustStore,
        now: SystemTime,
        loaded_at: &mut HashMap<String, SystemTime>,
        stats: &RevocationStats,
    ) -> CrlRound {
        let mut round = CrlRound::default();
        for url in self.due(now, loaded_at) {
            // Whatever panics in one refresh (fetcher, parser) must not end the refresher.
            let result = catch_unwind(AssertUnwindSafe(|| self.refresh(&url, trust, now, stats)))
                .unwrap_or_else(|_| Err(self.failed(&url, crl_panicked(&url), stats)));
            if result.is_ok() {
                loaded_at.insert(url.clone(), now);
                if let Ok(mut wanted) = self.wanted.lock() {
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
    pub(super) fn info(&self) -> Vec<CrlInfo> {
        let Ok(loaded) = self.loaded.read() else {
            return Vec::new();
        };
        let mut out: Vec<CrlInfo> = loaded
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
