//! Time arithmetic on durations that come from operators and other replicas.

use std::time::{Duration, SystemTime};

/// `t + d`, with `d` capped at 1000 years: `SystemTime + Duration` panics on overflow.
pub(crate) fn after(t: SystemTime, d: Duration) -> SystemTime {
    const MAX: Duration = Duration::from_secs(1000 * 365 * 86_400);
    t.checked_add(d.min(MAX)).unwrap_or(t)
}

/// Seconds since the Unix epoch (0 before it).
pub(super) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
