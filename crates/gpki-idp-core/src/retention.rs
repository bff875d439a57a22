//! How long the audit log keeps its events: a district keeps logs for its log-keeping rule
//! (six months or more, 資通安全責任等級分級辦法), and no longer, so that the database does not
//! grow without end. Pruned in the background in small batches, oldest first, so a prune
//! never holds the table for long.

use std::time::Duration;

use crate::error::Error;
use crate::oidc::Provider;

/// Events deleted per statement.
const BATCH: i64 = 5_000;
/// Statements per pruning round: a round deletes at most `BATCH * ROUND` events, and the next
/// round goes on where it stopped.
const ROUND: usize = 20;

impl Provider {
    /// Deletes the audit events older than `retention`; how many were deleted in this round.
    pub async fn prune_audit(&self, retention: Duration) -> Result<u64, Error> {
        let before = crate::now() - retention.as_secs() as i64;
        let mut pruned = 0;
        for _ in 0..ROUND {
            let deleted = self.directory.prune_audit(before, BATCH).await?;
            pruned += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
        Ok(pruned)
    }
}
