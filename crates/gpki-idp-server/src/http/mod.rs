//! HTTP handlers: parse the request, call the provider, shape the answer. No business rules.
//!
//! [`routes`] lists every route; [`school`] and [`request`] are what every handler starts from.

// Handler helpers return the ready error response as their error: it is the cold path, and
// boxing every response would only add noise.
#![allow(clippy::result_large_err)]

mod account_sessions;
pub mod admin;
mod assets;
mod branding_page;
mod card;
mod csrf;
pub(crate) mod errors;
mod forms;
mod health;
mod login;
mod oidc;
mod pages;
mod params;
mod password_change;
mod request;
mod routes;
mod school;
mod security;
mod sessions_page;

pub use errors::json_error;
pub use request::{bearer_token, client_ip};
pub use routes::{configure, Kind, SchoolRoute, SCHOOL_ROUTES};
