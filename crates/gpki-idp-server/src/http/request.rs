//! What a handler reads off any request: the client's address behind trusted proxies and a
//! bearer token.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use gpki_idp_core::audit::Origin;
use gpki_idp_core::login::Attempt;
use gpki_idp_core::model::School;

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

/// What a login attempt takes from its request: the school's issuer, where the request came
/// from, and the browser's device and session cookies ([`Attempt`]).
pub struct AttemptContext {
    issuer: String,
    origin: Origin,
    device: Option<String>,
    previous: Option<String>,
}

impl AttemptContext {
    pub fn of(state: &crate::app::AppState, req: &HttpRequest, school: &School) -> Self {
        Self {
            issuer: state.issuer(&school.code),
            origin: origin(req),
            device: super::school::device_cookie(req),
            previous: session_cookie(req),
        }
    }

    /// The attempt at the pending request `request_id` of the browser `browser` (its CSRF
    /// value).
    pub fn attempt<'a>(
        &'a self,
        school: &'a School,
        request_id: &'a str,
        browser: &'a str,
    ) -> Attempt<'a> {
        Attempt {
            school,
            issuer: &self.issuer,
            request_id,
            browser,
            device: self.device.as_deref(),
            previous_session: self.previous.as_deref(),
            origin: &self.origin,
        }
    }
}
