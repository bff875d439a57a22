//! Settings read lately (clients, schools), trusted for a short time. Changes made on this
//! replica are forgotten at once; a read that raced such a change is not kept, so the
//! replica that made a change never serves the old settings afterwards.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// More entries than this (a flood of unknown names) and the cache starts again.
const MAX_ENTRIES: usize = 10_000;

pub struct TtlCache<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
    /// Bumped by every `forget`, under the write lock.
    changes: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            changes: AtomicU64::new(0),
        }
    }

    /// The value kept for `key`, if it was read less than `ttl` ago.
    pub fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < ttl).then(|| value.clone())
    }

    /// Call before reading from the store; hand the result to `put`.
    pub fn version(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Keeps a value read at `version`, unless something was forgotten since.
    pub fn put(&self, key: K, value: V, version: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Checked under the lock `forget` takes, so no change can slip in between.
        if self.changes.load(Ordering::SeqCst) != version {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Drops `key` (after a change made on this replica).
    pub fn forget(&self, key: &K) {
        if let Ok(mut entries) = self.entries.write() {
            self.changes.fetch_add(1, Ordering::SeqCst);
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache: TtlCache<&str, u32> = TtlCache::new();
        let ttl = Duration::from_secs(60);
        let version = cache.version();
        cache.forget(&"a"); // a change lands while the old value is being read
        cache.put("a", 1, version);
        assert_eq!(cache.get(&"a", ttl), None);

        let version = cache.version();
        cache.put("a", 2, version);
        assert_eq!(cache.get(&"a", ttl), Some(2));
        assert_eq!(cache.get(&"a", Duration::ZERO), None, "expired");
        cache.forget(&"a");
        assert_eq!(cache.get(&"a", ttl), None);
    }
}
