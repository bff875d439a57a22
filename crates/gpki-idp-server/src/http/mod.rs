//! HTTP handlers: parse the request, call the provider, shape the answer. No business rules.

// Handler helpers return the ready error response as their error: it is the cold path, and
// boxing every response would only add noise.
#![allow(clippy::result_large_err)]

pub mod admin;
mod assets;
mod card;
mod errors;
mod health;
mod login;
mod oidc;
mod pages;

use actix_web::web;

pub use errors::json_error;

/// All routes of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(errors::form_error),
    )
    .app_data(web::QueryConfig::default().error_handler(errors::query_error))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics))
    .route("/static/hipki.js", web::get().to(assets::hipki_js))
    .route("/static/pages.js", web::get().to(assets::pages_js))
    .service(
        web::scope("/schools/{school}")
            .route(
                "/.well-known/openid-configuration",
                web::get().to(oidc::discovery),
            )
            .route("/jwks", web::get().to(oidc::jwks))
            .route("/authorize", web::get().to(oidc::authorize))
            .route("/login", web::post().to(login::submit))
            .route("/login", web::get().to(login::show))
            .route(
                "/login/card/challenge",
                web::post().to(card::login_challenge),
            )
            .route("/login/card", web::post().to(card::login))
            .route("/login/methods", web::post().to(card::methods))
            .route("/account", web::get().to(card::account_page))
            .route("/diagnostics", web::get().to(card::diagnostics_page))
            .route(
                "/diagnostics/check",
                web::post().to(card::diagnostics_check),
            )
            .route(
                "/account/card/challenge",
                web::post().to(card::register_challenge),
            )
            .route("/account/card", web::post().to(card::register))
            .route("/account/cards", web::get().to(card::list))
            .route("/account/cards/{id}/remove", web::post().to(card::remove))
            .route("/token", web::post().to(oidc::token))
            .route("/userinfo", web::get().to(oidc::userinfo))
            .route("/userinfo", web::post().to(oidc::userinfo))
            .route("/revoke", web::post().to(oidc::revoke))
            .route("/introspect", web::post().to(oidc::introspect))
            .route("/logout", web::get().to(oidc::logout))
            .default_service(web::to(errors::not_found)),
    )
    .configure(admin::configure)
    .default_service(web::to(errors::not_found));
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &actix_web::HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let trusted = req
        .app_data::<web::Data<crate::app::AppState>>()
        .map(|s| s.trusted_proxies.clone())
        .unwrap_or_default();
    crate::proxy::client_ip(peer, req.headers(), &trusted)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}
