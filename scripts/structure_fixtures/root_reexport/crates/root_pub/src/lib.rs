//! Circle audit <-> error, where audit reaches error only through the root's re-export.
pub mod audit;
pub mod error;

pub use error::OAuthError;
