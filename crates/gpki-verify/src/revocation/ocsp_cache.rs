//! OCSP verdicts remembered: in the process first, then in the cache the replicas share
//! (see [`super::shared`]). A verdict is fresh until the response's nextUpdate or the
//! configured lifetime, whichever comes first.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::ocsp::CertState;
use super::shared::{self, SharedStatusCache};
use super::stats::RevocationStats;

/// A certificate's key in the cache: the issuer's fingerprint and the serial, both hex.
pub(super) type CertKey = (String, String);

/// A verdict and the end of its freshness.
#[derive(Clone, Copy)]
pub(super) struct Cached {
    pub(super) state: CertState,
    pub(super) fresh_until: SystemTime,
}

/// The two levels of OCSP verdicts.
#[derive(Default)]
pub(super) struct OcspCache {
    local: Mutex<HashMap<CertKey, Cached>>,
    shared: RwLock<Option<Arc<dyn SharedStatusCache>>>,
}

impl OcspCache {
    /// Shares verdicts with other replicas through `cache`.
    pub(super) fn set_shared(&self, cache: Arc<dyn SharedStatusCache>) {
        if let Ok(mut slot) = self.shared.write() {
            *slot = Some(cache);
        }
    }

    fn shared(&self) -> Option<Arc<dyn SharedStatusCache>> {
        self.shared.read().ok().and_then(|s| s.clone())
    }

    /// The verdict held in this process, fresh or not (a stale one may still serve when the
    /// responder fails).
    pub(super) fn local(&self, key: &CertKey) -> Option<Cached> {
        self.local.lock().ok().and_then(|c| c.get(key).copied())
    }

    /// A fresh verdict another replica stored, kept locally too.
    pub(super) fn shared_hit(
        &self,
        key: &CertKey,
        now: SystemTime,
        stats: &RevocationStats,
    ) -> Option<CertState> {
        let text = self.shared()?.get(&shared::key(&key.0, &key.1))?;
        let (state, fresh_until) = shared::decode(&text).filter(|(_, until)| now <= *until)?;
        stats.ocsp_shared_hits.fetch_add(1, Ordering::Relaxed);
        self.remember(key.clone(), state, fresh_until);
        Some(state)
    }

    /// Keeps a verdict this process verified, and offers it to the other replicas.
    pub(super) fn store(
        &self,
        key: CertKey,
        state: CertState,
        fresh_until: SystemTime,
        now: SystemTime,
    ) {
        if let (Some(store), Ok(ttl)) = (self.shared(), fresh_until.duration_since(now)) {
            let value = shared::encode(state, fresh_until);
            store.put(&shared::key(&key.0, &key.1), &value, ttl);
        }
        self.remember(key, state, fresh_until);
    }

    fn remember(&self, key: CertKey, state: CertState, fresh_until: SystemTime) {
        if let Ok(mut cache) = self.local.lock() {
            cache.insert(key, Cached { state, fresh_until });
        }
    }
}
