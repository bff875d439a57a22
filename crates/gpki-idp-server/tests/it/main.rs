//! The server's integration tests, one binary (the service is linked once per build, not once
//! per file of tests). A module per concern; what the modules share is in `support/`.
//!
//! `cargo test -p gpki-idp-server --test it` runs them all; a module's path filters, e.g.
//! `--test it faults::` or `--test it admin_api::users::`.

mod support;

mod abuse_and_protocol;
mod admin_api;
mod apache_rp;
mod attack_round2;
mod attack_round3;
mod attacks;
mod backchannel;
mod backchannel_replicas;
mod behind_proxy;
mod branding_page;
mod card_login;
mod cert_cli_openssl;
mod client_auth;
mod deploy_config;
mod faults;
mod gm_sessions;
mod keys_and_clients;
mod login_policy;
mod oidc_flow;
mod onboarding;
mod openapi_routes;
mod passwords;
mod refresh_race;
mod replicas;
mod security_page;
