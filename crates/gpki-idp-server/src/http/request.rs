//! What a handler reads off any request: the client's address behind trusted proxies and a
//! bearer token.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use gpki_idp_core::audit::Origin;

/// The client's address: the peer, or — when the peer is a trusted proxy — the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let trusted = req
        .app_data::<web::Data<crate::app::AppState>>()
        .map(|s| s.trusted_proxies.clone())
        .unwrap_or_default();
    crate::proxy::client_ip(peer, req.headers(), &trusted)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The token of an `Authorization: Bearer …` header (the scheme in any case).
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    gpki_idp_core::oidc::client_auth::auth_param(header, "Bearer").filter(|t| !t.is_empty())
}

/// Where the request came from, as the audit log records it.
pub fn origin(req: &HttpRequest) -> Origin {
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    Origin::new(client_ip(req), agent)
}

/// The browser's session cookie value, when it sent one.
pub fn session_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(super::school::SESSION_COOKIE)
        .map(|c| c.value().to_string())
}
