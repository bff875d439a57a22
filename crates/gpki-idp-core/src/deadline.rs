//! A deadline for the whole of one request. The login and token paths answer within a few
//! seconds even when storage stops answering: every storage wait inside
//! [`within`] is cut to what is left of the request's time, and past it the storage call
//! fails as unavailable (503) through the ordinary error path, so nothing is dropped
//! half-way. Bulk admin work (an import) runs without one and keeps the storage's own
//! timeouts.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with a deadline `limit` from now.
pub async fn within<F: Future>(limit: Duration, work: F) -> F::Output {
    DEADLINE.scope(Instant::now() + limit, work).await
}

/// How long a storage call may wait: its own `timeout`, cut to what is left of the
/// request's deadline when it has one (zero once the deadline has passed).
pub fn remaining(timeout: Duration) -> Duration {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .map_or(timeout, |left| left.min(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_is_cut_to_the_requests_time_and_only_inside_it() {
        let long = Duration::from_secs(9);
        assert_eq!(remaining(long), long, "no deadline: the call's own timeout");
        within(Duration::from_millis(200), async {
            let left = remaining(long);
            assert!(left <= Duration::from_millis(200) && left > Duration::ZERO);
            assert_eq!(
                remaining(Duration::from_millis(10)),
                Duration::from_millis(10)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            assert_eq!(remaining(long), Duration::ZERO, "spent");
        })
        .await;
    }
}
