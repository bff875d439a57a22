//! The gpki-idp service: configuration, wiring and HTTP handlers, plus the operator CLI.

pub mod app;
pub mod config;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod serve;
