//! The change step of a login (a temporary or expired password): the page that asks for the
//! new password, and its form; and the account page's own change (變更密碼). The rules are the domain's
//! (`Provider::change_password_at_login`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::code::{Code, Message, Notice};
use gpki_idp_core::error::Error;
use gpki_idp_core::login::{CodeReset, Outcome, OwnChange, Refusal};
use gpki_idp_core::model::School;

use super::forms;
use super::pages::{self, password::ChangePage};
use super::request::{origin, session_cookie, AttemptContext};
use super::school::{add_login_cookies, device_cookie, school_or_return};
use crate::app::AppState;

/// Where a login that must change its password goes: the change step's page.
pub fn change_url(school: &School, request_id: &str) -> String {
    let query: String = url::form_urlencoded::byte_serialize(request_id.as_bytes()).collect();
    format!("/schools/{}/login/password?req={query}", school.code)
}

/// The change page for the pending request `request_id`, with `error` on it when given.
async fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    error: Option<&Error>,
) -> HttpResponse {
    let locale = pages::locale(req, None);
    let Some(csrf) = super::csrf::current(state, req) else {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    };
    let pending = state
        .provider
        .pending_password_change(school, request_id, &csrf)
        .await;
    let pending = match pending {
        Ok(p) => p,
        Err(e) => return pages::error_page(&e, locale.as_deref()),
    };
    let locale = pages::locale(req, pending.request.ui_locales.as_deref());
    let status = error.map_or(StatusCode::OK, |e| super::errors::status(e.code));
    let page = ChangePage {
        school,
        request_id,
        csrf: &csrf,
        username: &pending.user.username,
        min_length: pending.policy.min_length,
        notice: Notice::PasswordMustChange.message(),
        error: error.map(|e| -> Message { e.code.message() }),
        locale: locale.as_deref(),
        form_target: pages::origin_of(&pending.request.redirect_uri),
    };
    let mut response = pages::password::change(page, status);
    pages::remember_locale(req, &mut response);
    response
}

/// `GET /schools/{school}/login/password?req=…`: the change step's page.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<forms::LoginPage>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    render(&state, &req, &school, &query.req, None).await
}

/// `POST /schools/{school}/login/password` (req, csrf, new_password, new_password_again).
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::PasswordChange>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let context = AttemptContext::of(&state, &req, &school);
    let attempt = context.attempt(&school, &form.req, &form.csrf);
    let concluded = state
        .provider
        .change_password_at_login(&attempt, &form.new_password, &form.new_password_again)
        .await;
    state
        .metrics
        .count_login(&school, concluded.factor, concluded.outcome);
    match concluded.result {
        Ok(Outcome::Done(done)) => {
            let mut r = HttpResponse::Found()
                .insert_header(("Location", done.url.as_str()))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
            add_login_cookies(&state, &school, &done, &mut r);
            r
        }
        // The change step ends a login; it leads nowhere else.
        Ok(_) => pages::error_page(&Error::server_error(), locale.as_deref()),
        Err(Refusal {
            error,
            request: Some(_),
        }) if !error.is_unavailable() => {
            render(&state, &req, &school, &form.req, Some(&error)).await
        }
        Err(Refusal { error, .. }) => pages::error_page(&error, locale.as_deref()),
    }
}

/// `POST /schools/{school}/account/password` (csrf, current_password, new_password,
/// new_password_again): 變更密碼 on the account page; back to the account page with what
/// happened.
pub async fn own_change(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::OwnPasswordChange>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let device = device_cookie(&req);
    let change = OwnChange {
        current: Some(form.current_password.as_str()).filter(|c| !c.is_empty()),
        new: &form.new_password,
        again: &form.new_password_again,
        device: device.as_deref(),
    };
    let sid = session_cookie(&req);
    let changed = state
        .provider
        .change_own_password(&school, sid.as_deref(), &origin(&req), &change)
        .await;
    let outcome = match &changed {
        Ok(()) => "changed".to_string(),
        Err(e) => e.code.as_str().to_string(),
    };
    match changed {
        Err(e) if e.code == Code::NotLoggedIn || e.is_unavailable() => {
            pages::error_page(&e, locale.as_deref())
        }
        _ => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!("/schools/{}/account?password={outcome}", school.code),
            ))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
    }
}

/// `GET /schools/{school}/password-reset`: 忘記密碼.
pub async fn reset_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let locale = pages::locale(&req, None);
    let mut response = pages::password::reset(&school, &csrf, "", None, false, locale.as_deref());
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(&req, &mut response);
    response
}

/// `POST /schools/{school}/password-reset` (csrf, username, code, new_password,
/// new_password_again).
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::CodeReset>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let device = device_cookie(&req);
    let reset = CodeReset {
        username: &form.username,
        code: &form.code,
        new: &form.new_password,
        again: &form.new_password_again,
        device: device.as_deref(),
    };
    let done = state
        .provider
        .reset_password_with_code(&school, &origin(&req), &reset)
        .await;
    let (csrf, user) = (&form.csrf, &form.username);
    let mut response = match done {
        Ok(()) => pages::password::reset(&school, csrf, user, None, true, locale.as_deref()),
        Err(e) => {
            let page =
                pages::password::reset(&school, csrf, user, Some(&e), false, locale.as_deref());
            super::errors::as_error(page, &e)
        }
    };
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}
