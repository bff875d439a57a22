//! Circle a::inner <-> b: b names crate::a::Thing, which a/mod.rs re-exports from a::inner.
//! The root's re-export of the facade's re-export gives Thing a second public path.
pub mod a;
pub mod b;

pub use a::Thing;
