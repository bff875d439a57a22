//! Error answers: JSON with a stable code for APIs, a bilingual page for browsers.

use actix_web::{error, http::StatusCode, HttpRequest, HttpResponse};
use gpki_idp_core::OAuthError;
use serde_json::json;

/// `error_description` in the character set RFC 6749 §5.2 allows (the rule is the domain's).
pub use gpki_idp_core::login::error_description as description;

/// 401 for a request without any credentials: `WWW-Authenticate: Bearer` without an error
/// code (RFC 6750 §3.1).
pub fn no_token() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("WWW-Authenticate", "Bearer realm=\"gpki-idp\""))
        .json(json!({"error": "invalid_token", "error_description": "a bearer access token is required"}))
}

/// `{"error": code, "error_description": …}` with the error's status.
pub fn json_error(e: &OAuthError) -> HttpResponse {
    let text = description(&e.description);
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response.insert_header(("Cache-Control", "no-store"));
    if e.code == "invalid_client" {
        response.insert_header(("WWW-Authenticate", "Basic realm=\"gpki-idp\""));
    }
    if e.code == "invalid_token" {
        response.insert_header((
            "WWW-Authenticate",
            format!("Bearer error=\"invalid_token\", error_description=\"{text}\""),
        ));
    }
    response.json(json!({"error": e.code, "error_description": text}))
}

/// 403 `https_required`, in the OAuth shape and in the login pages' (`message_zh` /
/// `message_en`), since it may answer either kind of endpoint.
pub fn https_required() -> HttpResponse {
    let e = OAuthError::https_required();
    HttpResponse::build(StatusCode::FORBIDDEN)
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "error": e.code,
            "error_description": e.description,
            "message_zh": "請改用 HTTPS 連線。",
            "message_en": "This service is reached over https only.",
        }))
}

pub async fn not_found() -> HttpResponse {
    json_error(&OAuthError::not_found("no such endpoint"))
}

pub fn form_error(err: error::UrlencodedError, _req: &HttpRequest) -> error::Error {
    let body = json_error(&OAuthError::invalid_request(format!(
        "malformed form body: {err}"
    )));
    error::InternalError::from_response(err, body).into()
}

pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> error::Error {
    let body = json_error(&OAuthError::invalid_request(format!(
        "malformed query string: {err}"
    )));
    error::InternalError::from_response(err, body).into()
}
