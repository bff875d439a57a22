//! The same circle, with a pub(crate) re-export and the use written inline.
pub mod audit;
mod error;

pub(crate) use self::error::OAuthError;
