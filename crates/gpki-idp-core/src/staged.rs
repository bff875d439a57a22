//! Short-lived writes staged ahead of a database commit ([`Staged`]). A change whose commit
//! point is a database write (a login: its session's record with its audit event) first
//! writes what it needs in the short-lived store (the session, the code); when that commit
//! fails, or a write before it does, the staged keys are removed again, so that nothing of a
//! change that did not happen stays usable.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::ephemeral::Ephemeral;
use crate::error::Error;

/// The short-lived keys written on the way to one commit.
pub struct Staged<'a> {
    store: &'a dyn Ephemeral,
    keys: Vec<String>,
}

impl<'a> Staged<'a> {
    pub fn new(store: &'a dyn Ephemeral) -> Self {
        Self {
            store,
            keys: Vec::new(),
        }
    }

    /// Writes `value` as JSON under `key` for `ttl`, to be removed if the commit fails.
    pub async fn put_json<T: Serialize>(
        &mut self,
        key: String,
        value: &T,
        ttl: Duration,
    ) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|_| Error::server_error())?;
        // Remembered before it is written: a write whose answer was lost may have landed.
        self.keys.push(key);
        let key = self.keys.last().map(String::as_str).unwrap_or_default();
        Ok(self.store.put(key, &bytes, ttl).await?)
    }

    /// Ends the staging: when the writes on the way failed (`written`), nothing is committed;
    /// otherwise `commit` runs. When either failed, the staged keys are removed and the
    /// error returned.
    pub async fn commit<T>(
        self,
        written: Result<(), Error>,
        commit: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let committed = match written {
            Ok(()) => commit.await,
            Err(e) => Err(e),
        };
        if committed.is_err() {
            self.discard().await;
        }
        committed
    }

    /// Removes every staged key (the change was not committed). Each is tried; one that
    /// cannot be removed is logged and expires with its lifetime.
    async fn discard(self) {
        for key in &self.keys {
            if let Err(e) = self.store.delete(key).await {
                let detail = format!("a staged key could not be removed: {e}");
                tracing::error!("type" = "error", source = "store", detail);
            }
        }
    }
}
