//! The one error type of the identity provider's domain: a stable [`Code`] and a detail safe
//! to show. Every refusal the IdP gives — OAuth 2.0 and OIDC errors (RFC 6749 §4.1.2.1,
//! §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6), the admin API's, the login pages' and the
//! certificate engine's — is one variant of [`Code`], and each has its message in zh-TW and
//! English in the catalogue ([`crate::messages`]). The HTTP edge alone chooses the status and
//! the headers of a code; the domain never speaks HTTP.

use serde::Serialize;

use crate::code::Code;

/// An error answered to a relying party, a browser or an admin client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Error {
    pub code: Code,
    /// Detail in English, safe to show (never a secret or an internal): the OAuth
    /// `error_description`.
    pub description: String,
    /// Seconds before trying again is worth it (throttling).
    pub retry_after: Option<u64>,
}

impl Error {
    pub fn new(code: Code, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// The catalogue's message as the description.
    pub fn of(code: Code) -> Self {
        Self::new(code, code.message().en)
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(Code::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(Code::InvalidGrant, d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(Code::UnauthorizedClient, d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(Code::UnsupportedGrantType, d)
    }
    pub fn unsupported_response_type(d: impl Into<String>) -> Self {
        Self::new(Code::UnsupportedResponseType, d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(Code::InvalidScope, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(Code::InvalidToken, d)
    }
    pub fn login_required(d: impl Into<String>) -> Self {
        Self::new(Code::LoginRequired, d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new(Code::AccessDenied, d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(Code::NotFound, d)
    }
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        Self::new(Code::InsufficientScope, d)
    }
    pub fn conflict(d: impl Into<String>) -> Self {
        Self::new(Code::Conflict, d)
    }
    pub fn precondition_failed(d: impl Into<String>) -> Self {
        Self::new(Code::PreconditionFailed, d)
    }
    pub fn payload_too_large(d: impl Into<String>) -> Self {
        Self::new(Code::PayloadTooLarge, d)
    }
    pub fn unsupported_media_type(d: impl Into<String>) -> Self {
        Self::new(Code::UnsupportedMediaType, d)
    }
    pub fn method_not_allowed(d: impl Into<String>) -> Self {
        Self::new(Code::HttpMethodNotAllowed, d)
    }
    pub fn too_many_requests(d: impl Into<String>) -> Self {
        Self::new(Code::TooManyRequests, d)
    }
    /// Too many failures: try again after `wait` seconds (at least one).
    pub fn throttled(wait: u64) -> Self {
        Self {
            retry_after: Some(wait.max(1)),
            ..Self::of(Code::Throttled)
        }
    }
    /// A form post whose CSRF value does not match the browser's cookie (an old page, or a
    /// form from elsewhere).
    pub fn csrf_failed() -> Self {
        Self::of(Code::CsrfFailed)
    }
    /// A trusted proxy received the request over plain http; the service is https only.
    pub fn https_required() -> Self {
        Self::of(Code::HttpsRequired)
    }
    /// Storage or another internal failure: the detail is logged, never shown.
    pub fn server_error() -> Self {
        Self::new(Code::ServerError, "internal error")
    }
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            Code::TemporarilyUnavailable,
            "storage unavailable, try again",
        )
    }
    /// The certificate engine's refusal.
    pub fn certificate(e: &gpki_verify::Error) -> Self {
        Self::new(Code::Certificate(e.into()), e.message_en())
    }

    /// Whether this is storage (or the machinery) failing rather than a refusal: nothing
    /// happened, and trying again may work.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.code, Code::TemporarilyUnavailable | Code::ServerError)
    }
}

impl From<crate::store::StoreError> for Error {
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

/// The JSON body of every error answer: the OAuth shape (`error`, `error_description`) with
/// the catalogue's message in both languages for the pages and people reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    pub error_description: String,
    pub message_zh: &'static str,
    pub message_en: &'static str,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        let message = e.code.message();
        Self {
            error: e.code.as_str(),
            error_description: error_description(&e.description),
            message_zh: message.zh,
            message_en: message.en,
        }
    }
}

/// `error_description` in the character set RFC 6749 §5.2 allows (printable ASCII but `"`
/// and `\`): whatever a description holds, it cannot break a header or a client's parser.
pub fn error_description(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .collect();
    kept.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_only_what_rfc_6749_allows() {
        assert_eq!(
            error_description("帳號 \"quoted\" \\ not logged in"),
            "quoted  not logged in"
        );
    }
}
