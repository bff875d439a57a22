//! Failures of the stores since the process started (not uniqueness conflicts), for metrics.

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) static DATABASE: AtomicU64 = AtomicU64::new(0);
pub(crate) static REDIS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// (database, redis) failures so far.
pub fn counts() -> (u64, u64) {
    (
        DATABASE.load(Ordering::Relaxed),
        REDIS.load(Ordering::Relaxed),
    )
}
