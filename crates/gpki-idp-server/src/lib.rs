//! The gpki-idp service: configuration, wiring and HTTP handlers, plus the operator CLI.

pub mod app;
pub mod config;
pub mod demo;
pub mod http;
pub mod logout_sender;
pub mod logs;
pub mod maintenance;
pub mod metrics;
pub mod proxy;
pub mod serve;
pub mod shared_cache;
