//! What every handler under `/schools/{school}` starts from: the school of the path, the
//! browser's session cookie, and where the request came from.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse};
use gpki_idp_core::login::Finished;
use gpki_idp_core::model::School;

use super::errors::json_error;
use crate::app::AppState;

pub const SESSION_COOKIE: &str = "gpki_session";

/// The school of the path, or a JSON 404.
pub async fn school_of(state: &AppState, req: &HttpRequest) -> Result<School, HttpResponse> {
    let code = req.match_info().get("school").unwrap_or_default();
    state
        .provider
        .school(code)
        .await
        .map_err(|e| json_error(&e))
}

macro_rules! school_or_return {
    ($state:expr, $req:expr) => {
        match $crate::http::school::school_of(&$state, &$req).await {
            Ok(s) => s,
            Err(response) => return response,
        }
    };
}
pub(crate) use school_or_return;

/// A session cookie scoped to one school's path.
pub fn session_cookie(
    state: &AppState,
    school: &School,
    value: &str,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_string())
        .path(format!("/schools/{}", school.code))
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// The session cookie of a login that just finished, for the session's lifetime.
pub fn new_session_cookie(state: &AppState, school: &School, sid: &str) -> Cookie<'static> {
    let ttl = state.provider.settings.session_ttl.as_secs() as i64;
    session_cookie(state, school, sid, ttl)
}

/// Adds the cookies of a finished login to its answer: the session's, and the device
/// cookie that marks the account as known on this browser (path `/`: one browser, every
/// school; it names no account).
pub fn add_login_cookies(
    state: &AppState,
    school: &School,
    done: &Finished,
    response: &mut HttpResponse,
) {
    let _ = response.add_cookie(&new_session_cookie(state, school, &done.sid));
    if let Some(marks) = &done.device {
        let lifetime = gpki_idp_core::device::MARK_LIFETIME.as_secs() as i64;
        let cookie = Cookie::build(gpki_idp_core::device::COOKIE, marks.clone())
            .path("/")
            .http_only(true)
            .secure(state.secure_cookies)
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::seconds(lifetime))
            .finish();
        let _ = response.add_cookie(&cookie);
    }
}

/// The browser's device cookie, when it sent one.
pub fn device_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(gpki_idp_core::device::COOKIE)
        .map(|c| c.value().to_string())
}
