//! Counters of the revocation checker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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

/// Adds the time since `start` to `total` (microseconds).
pub(super) fn add_elapsed(total: &AtomicU64, start: Instant) {
    total.fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
}
