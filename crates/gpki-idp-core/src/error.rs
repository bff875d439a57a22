//! OAuth 2.0 / OIDC errors with stable codes (RFC 6749 §5.2, OIDC Core §3.1.2.6) and the
//! project's own codes for everything else.

/// An error answered to a relying party or a browser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// Stable snake_case code (`invalid_request`, `invalid_grant`, ...).
    pub code: &'static str,
    /// Human-readable detail, safe to show (never secrets or internals).
    pub description: String,
    /// HTTP status to answer with.
    pub status: u16,
}

impl OAuthError {
    fn new(code: &'static str, status: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status,
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", 400, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", 401, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", 400, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", 400, d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", 400, d)
    }
    pub fn unsupported_response_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_response_type", 400, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", 400, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new("invalid_token", 401, d)
    }
    pub fn login_required(d: impl Into<String>) -> Self {
        Self::new("login_required", 400, d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new("access_denied", 403, d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new("not_found", 404, d)
    }
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        Self::new("insufficient_scope", 403, d)
    }
    pub fn conflict(d: impl Into<String>) -> Self {
        Self::new("conflict", 409, d)
    }
    pub fn precondition_failed(d: impl Into<String>) -> Self {
        Self::new("precondition_failed", 412, d)
    }
    pub fn payload_too_large(d: impl Into<String>) -> Self {
        Self::new("payload_too_large", 413, d)
    }
    pub fn unsupported_media_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_media_type", 415, d)
    }
    pub fn method_not_allowed(d: impl Into<String>) -> Self {
        Self::new("method_not_allowed", 405, d)
    }
    pub fn too_many_requests(d: impl Into<String>) -> Self {
        Self::new("too_many_requests", 429, d)
    }
    /// A form post whose CSRF value does not match the browser's cookie (an old page, or a
    /// form from elsewhere).
    pub fn csrf_failed() -> Self {
        Self::new(
            "csrf_failed",
            403,
            "表單已失效，請重新整理頁面。The form expired. Reload the page.",
        )
    }
    /// A trusted proxy received the request over plain http; the service is https only.
    pub fn https_required() -> Self {
        Self::new(
            "https_required",
            403,
            "請改用 HTTPS 連線 / this service is reached over https only",
        )
    }
    /// Storage or another internal failure: the detail is logged, never shown.
    pub fn server_error() -> Self {
        Self::new("server_error", 500, "internal error")
    }
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            "temporarily_unavailable",
            503,
            "storage unavailable, try again",
        )
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(detail) => {
                tracing::error!("type" = "error", source = "store", detail);
                Self::temporarily_unavailable()
            }
            crate::store::StoreError::Conflict(d) => Self::invalid_request(d),
            crate::store::StoreError::Other(detail) => {
                // The detail is for the operator's log, never for the answer.
                tracing::error!("type" = "error", source = "store", detail);
                Self::server_error()
            }
        }
    }
}
