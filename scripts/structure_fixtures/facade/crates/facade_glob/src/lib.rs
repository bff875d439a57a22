//! The same circle through a glob facade (`pub use inner::*`) in a non-mod.rs parent file.
pub mod a;
pub mod b;
