//! Double-submit CSRF tokens for the pages' forms and the JSON calls they make.
//!
//! One token per browser, kept in a cookie and repeated in every form: a page rendered in a
//! second tab reuses it, so the first tab's form still works. On https the cookie is
//! `__Host-` prefixed (Secure, path `/`, no domain: no other host or school's page can set or
//! shadow it). Compared in constant time.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::app::AppState;

/// The cookie on plain http (development, tests).
pub const COOKIE: &str = "gpki_csrf";
/// The cookie on https.
pub const HOST_COOKIE: &str = "__Host-gpki_csrf";

/// 24 random bytes in base64url.
const TOKEN_LEN: usize = 32;

fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        HOST_COOKIE
    } else {
        COOKIE
    }
}

/// The browser's token, when its cookie holds one of ours.
pub fn current(state: &AppState, req: &HttpRequest) -> Option<String> {
    let value = req.cookie(cookie_name(state))?.value().to_string();
    let well_formed = value.len() == TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(value)
}

/// The token a page embeds, and the cookie to set when the browser has none yet.
pub fn token(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = current(state, req) {
        return (existing, None);
    }
    let token = gpki_idp_core::random_token(24);
    let cookie = Cookie::build(cookie_name(state), token.clone())
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// Whether `sent` (the form's value) is the browser's token.
pub fn matches(state: &AppState, req: &HttpRequest, sent: &str) -> bool {
    current(state, req).is_some_and(|c| constant_time_eq(c.as_bytes(), sent.as_bytes()))
}

/// The browser's token when the form repeats it (the JSON calls' double submit; it also binds
/// card challenges to the browser), or the JSON refusal.
pub fn browser(
    state: &AppState,
    req: &HttpRequest,
    sent: &str,
) -> Result<String, actix_web::HttpResponse> {
    if matches(state, req, sent) {
        return Ok(sent.to_string());
    }
    Err(super::errors::json_error(
        &gpki_idp_core::error::Error::csrf_failed(),
    ))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Adds the token's cookie to a page's response when it is new.
pub fn set(response: &mut actix_web::HttpResponse, cookie: Option<Cookie<'static>>) {
    if let Some(c) = cookie {
        let _ = response.add_cookie(&c);
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_is() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
