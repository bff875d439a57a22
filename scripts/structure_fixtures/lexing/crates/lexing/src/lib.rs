//! Pairs of modules in a circle, where x_a's only use of x_b sits behind something a careless
//! reader of Rust stops at. Every pair must be reported.
pub mod after_a;
pub mod after_b;
pub mod attr_a;
pub mod attr_b;
pub mod byte_a;
pub mod byte_b;
pub mod comment_a;
pub mod comment_b;
pub mod escape_a;
pub mod escape_b;
pub mod life_a;
pub mod life_b;
pub mod quote_a;
pub mod quote_b;
pub mod raw_a;
pub mod raw_b;
pub mod url_a;
pub mod url_b;
