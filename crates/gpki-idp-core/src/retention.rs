//! How long the audit log keeps its events: a district keeps logs for its log-keeping rule
//! (six months or more, 資通安全責任等級分級辦法), and no longer, so that the database does not
//! grow without end. Pruned in the background in small batches, oldest first, so a prune
//! never holds the table for long.
//!
//! A browser session's row (and the portals recorded in it) is kept until a day after it
//! expired, ended or not (what a login whose commit's outcome is unknown reads back, and
//! what the admin sees of a session that just ended), then pruned the same way.

use std::future::Future;
use std::time::Duration;

use crate::error::Error;
use crate::oidc::Provider;

/// Events deleted per statement.
const BATCH: i64 = 5_000;
/// Statements per pruning round: a round deletes at most `BATCH * ROUND` events, and the next
/// round goes on where it stopped.
const ROUND: usize = 20;
/// How long a session's row outlives its expiry.
pub const SESSION_AFTERLIFE: Duration = Duration::from_secs(24 * 3600);

/// Runs `batch` until it deletes less than [`BATCH`], at most [`ROUND`] times; how many.
async fn in_batches<F, Fut>(mut batch: F) -> Result<u64, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::store::StoreResult<u64>>,
{
    let mut pruned = 0;
    for _ in 0..ROUND {
        let deleted = batch().await?;
        pruned += deleted;
        if deleted < BATCH as u64 {
            break;
        }
    }
    Ok(pruned)
}

impl Provider {
    /// Deletes the audit events older than `retention`; how many were deleted in this round.
    pub async fn prune_audit(&self, retention: Duration) -> Result<u64, Error> {
        let before = crate::now() - retention.as_secs() as i64;
        in_batches(|| self.directory.prune_audit(before, BATCH)).await
    }

    /// Deletes the sessions that expired more than [`SESSION_AFTERLIFE`] ago, with the
    /// portals recorded in them; how many sessions were deleted in this round.
    pub async fn prune_sessions(&self) -> Result<u64, Error> {
        let before = crate::now() - SESSION_AFTERLIFE.as_secs() as i64;
        in_batches(|| self.directory.prune_sessions(before, BATCH)).await
    }
}
