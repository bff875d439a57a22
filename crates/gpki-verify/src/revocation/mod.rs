//! Revocation checking: OCSP with a response cache, CRLs indexed in the background, the
//! operator's mode, and what to do when no status can be had.
//!
//! - `policy`: the operator's settings and the outcome of a check;
//! - `checker`: [`RevocationChecker`], the sources in order and the policy applied;
//! - [`ocsp`] and `ocsp_cache`: one OCSP exchange, and verdicts remembered (with [`shared`]
//!   across replicas);
//! - [`crl`] and `crl_store`: one CRL parsed and indexed, and the CRLs in memory;
//! - [`fetch`]: HTTP; `stats`: counters; `clock`: time arithmetic.

mod checker;
mod clock;
pub mod crl;
mod crl_store;
pub mod fetch;
pub mod ocsp;
mod ocsp_cache;
mod policy;
pub mod shared;
mod stats;

pub use checker::RevocationChecker;
pub use crl_store::{CrlInfo, CrlRound};
pub use policy::{RevocationConfig, RevocationMode, RevocationStatus, WhenUnavailable};
pub use stats::RevocationStats;
