//! gpki-idp-store: the core's storage traits on real stores.
//!
//! - [`SqlDirectory`]: persistent records on PostgreSQL (production) or SQLite (the embedded
//!   default), with embedded migrations.
//! - [`InProcess`] and [`RedisStore`]: ephemeral state, in this process or shared in Redis.

mod admin;
mod branding;
pub mod db;
pub mod directory;
pub mod ephemeral;
mod fixed;
mod onboarding;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use directory::SqlDirectory;
pub use ephemeral::{InProcess, RedisStore};

/// Failures of the stores since the process started (not uniqueness conflicts), for metrics.
pub mod errors {
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
}
