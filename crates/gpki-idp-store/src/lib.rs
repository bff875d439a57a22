//! gpki-idp-store: the core's storage traits on real stores.
//!
//! - [`SqlDirectory`]: persistent records on PostgreSQL (production) or SQLite (the embedded
//!   default), with embedded migrations.
//! - [`InProcess`] and [`RedisStore`]: ephemeral state, in this process or shared in Redis.
//!
//! These three are named at the crate root only; the modules that build them are private.

pub mod db;
mod directory;
mod ephemeral;
pub mod errors;
mod fixed;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use directory::SqlDirectory;
pub use ephemeral::{InProcess, RedisStore};
