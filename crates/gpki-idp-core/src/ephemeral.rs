//! Short-lived state's trait ([`Ephemeral`], Redis or in-process), and the scopes of a
//! throttled attempt it reserves atomically.

use std::time::Duration;

use async_trait::async_trait;

use crate::store::StoreResult;

/// One scope of a throttled attempt (see [`Ephemeral::reserve_attempt`]): a count of
/// failures at `key` over `window`, and the wait they earn past `free` of them, doubling from
/// `base` up to `cap`, kept at `{key}:until` (Unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptScope {
    pub key: String,
    pub free: u64,
    pub base: Duration,
    pub cap: Duration,
    pub window: Duration,
}

impl AttemptScope {
    /// The wait after the `failures`-th failure of this scope.
    pub fn delay_after(&self, failures: u64) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30) as u32;
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    pub fn until_key(&self) -> String {
        format!("{}:until", self.key)
    }
}

/// Short-lived state with expiry: authorization requests, codes, challenges, sessions,
/// access tokens, rate-limit counters. Keys are namespaced by the caller.
#[async_trait]
pub trait Ephemeral: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Reads and deletes in one step: a value taken once cannot be taken again.
    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Adds `by` to a counter that expires `ttl` after its first increment; returns the new
    /// value. `get` reads it back as decimal text.
    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64>;
    /// Reserves one attempt in every scope at once, atomically. If any scope still waits,
    /// nothing is counted and the longest wait is returned. Else every scope counts the
    /// attempt as a failure, sets the wait that failure earns, and `ZERO` is returned: the
    /// attempt may go on, and only a right answer gives the reservation back (by deleting its
    /// scopes' keys). Concurrent attempts cannot all pass a check made before any of them is
    /// counted.
    async fn reserve_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<Duration>;
    /// Gives back one reserved attempt in every scope, atomically: its count goes down by one,
    /// and a wait it set ends once the count is under the scope's allowance again (a right
    /// password must not make the next person at the same address wait).
    async fn release_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<()>;
    /// Adds one to a counter (see [`Ephemeral::incr_by`]).
    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<u64> {
        self.incr_by(key, 1, ttl).await
    }
}
