//! Circle macros <-> user: an exported macro lives at the crate root, but it is macros' code.
pub mod macros;
pub mod user;
