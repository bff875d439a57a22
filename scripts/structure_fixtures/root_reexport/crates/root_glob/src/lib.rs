//! The same circle through a glob re-export at the root.
pub mod audit;
mod error;

pub use error::*;
