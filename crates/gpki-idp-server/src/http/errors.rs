//! The HTTP edge of every error: the status and headers of each stable code, chosen here and
//! nowhere else, and the one JSON body ([`ErrorBody`]) for APIs. Pages show the same codes
//! through [`super::pages::error_page`].

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{error, HttpRequest, HttpResponse};
use gpki_idp_core::code::Code;
use gpki_idp_core::error::{Error, ErrorBody};

/// The HTTP status of a code.
pub fn status(code: Code) -> StatusCode {
    match code {
        Code::InvalidRequest
        | Code::InvalidGrant
        | Code::UnauthorizedClient
        | Code::UnsupportedGrantType
        | Code::UnsupportedResponseType
        | Code::InvalidScope
        | Code::LoginRequired
        | Code::RequestNotSupported
        | Code::RequestUriNotSupported
        | Code::LoginExpired
        | Code::ChallengeInvalid
        | Code::RegistrationOffCampus
        | Code::EnrollmentCodeInvalid
        | Code::PasswordTooShort
        | Code::PasswordTooWeak
        | Code::PasswordReused
        | Code::PasswordTooNew
        | Code::PasswordMismatch
        | Code::PasswordCurrentWrong
        | Code::ResetCodeInvalid => StatusCode::BAD_REQUEST,
        Code::InvalidClient
        | Code::InvalidToken
        | Code::CertificateNotRegistered
        | Code::Certificate(_) => StatusCode::UNAUTHORIZED,
        // The login form again, with the message: a 401 would need a WWW-Authenticate
        // challenge, which a form login does not have.
        Code::InvalidCredentials => StatusCode::OK,
        Code::AccessDenied
        | Code::InsufficientScope
        | Code::CsrfFailed
        | Code::HttpsRequired
        | Code::LoginMethodNotAllowed(_)
        | Code::AcrUnreachable
        | Code::NotLoggedIn
        | Code::NotSchoolAdmin
        | Code::CardHolderMismatch => StatusCode::FORBIDDEN,
        Code::NotFound | Code::CertificateLoginDisabled => StatusCode::NOT_FOUND,
        Code::HttpMethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Code::Conflict | Code::CertificateAlreadyRegistered => StatusCode::CONFLICT,
        Code::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Code::TooManyRequests | Code::Throttled => StatusCode::TOO_MANY_REQUESTS,
        Code::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        Code::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The headers every answer to `e` carries: no caching, `Retry-After` for a wait, and the
/// challenge of RFC 6749 §5.2 (`invalid_client`) or RFC 6750 §3 (`invalid_token`).
fn headers(e: &Error) -> Vec<(HeaderName, String)> {
    let mut headers = vec![(header::CACHE_CONTROL, "no-store".to_string())];
    if let Some(wait) = e.retry_after {
        headers.push((header::RETRY_AFTER, wait.to_string()));
    }
    match e.code {
        Code::InvalidClient => {
            headers.push((header::WWW_AUTHENTICATE, "Basic realm=\"gpki-idp\"".into()));
        }
        Code::InvalidToken => {
            let text = gpki_idp_core::error::error_description(&e.description);
            let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{text}\"");
            headers.push((header::WWW_AUTHENTICATE, challenge));
        }
        _ => {}
    }
    headers
}

/// Gives a ready answer (a page showing the error) the error's status and headers.
pub fn as_error(mut response: HttpResponse, e: &Error) -> HttpResponse {
    *response.status_mut() = status(e.code);
    for (name, value) in headers(e) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The JSON answer to an error: its status, headers and [`ErrorBody`].
pub fn json_error(e: &Error) -> HttpResponse {
    as_error(HttpResponse::Ok().json(ErrorBody::from(e)), e)
}

/// 401 for a request without any credentials: `WWW-Authenticate: Bearer` without an error
/// code (RFC 6750 §3.1).
pub fn no_token() -> HttpResponse {
    let e = Error::invalid_token("a bearer access token is required");
    HttpResponse::Unauthorized()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"gpki-idp\""))
        .json(ErrorBody::from(&e))
}

pub async fn not_found() -> HttpResponse {
    json_error(&Error::not_found("no such endpoint"))
}

pub fn form_error(err: error::UrlencodedError, _req: &HttpRequest) -> error::Error {
    let body = json_error(&Error::invalid_request(format!(
        "malformed form body: {err}"
    )));
    error::InternalError::from_response(err, body).into()
}

pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> error::Error {
    let body = json_error(&Error::invalid_request(format!(
        "malformed query string: {err}"
    )));
    error::InternalError::from_response(err, body).into()
}
