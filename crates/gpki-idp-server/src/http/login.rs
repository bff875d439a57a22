//! The login page and its password form. The login itself is the domain's
//! (`Provider::password_login`, then `Provider::conclude_login`); this parses and answers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::login::{Attempt, Failure, Outcome};
use gpki_idp_core::model::{School, User};
use gpki_idp_core::oidc::authorize::AuthRequest;
use gpki_idp_core::oidc::session::LoginError;
use gpki_idp_core::policy::Method;
use gpki_idp_core::OAuthError;

use super::forms;
use super::pages;
use super::request::{client_ip, origin};
use super::school::{new_session_cookie, school_or_return};
use crate::app::AppState;

/// What the login page shows besides the form: an error, or a notice and the step a started
/// login still needs.
#[derive(Default)]
struct Extra<'a> {
    error: Option<&'a pages::Message>,
    notice: Option<&'a pages::Message>,
    step: Option<&'a str>,
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    extra: Extra<'_>,
) -> HttpResponse {
    let (csrf, cookie) = super::csrf::token(state, req);
    let locale = pages::locale(req, request.ui_locales.as_deref());
    let mut response = pages::login(&pages::LoginPage {
        school,
        request_id,
        csrf: &csrf,
        login_hint: request.login_hint.as_deref(),
        error: extra.error,
        notice: extra.notice,
        step: extra.step,
        locale: locale.as_deref(),
        component_origin: &state.component_origin,
        redirect_uri: &request.redirect_uri,
    });
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}

/// Renders the login page for a pending request.
pub fn page(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    error: Option<&pages::Message>,
) -> HttpResponse {
    let extra = Extra {
        error,
        ..Extra::default()
    };
    render(state, req, school, request_id, request, extra)
}

fn expired() -> OAuthError {
    OAuthError::invalid_request(
        "the login request expired; go back to the school portal and start again",
    )
}

/// `GET /schools/{school}/login?req=…[&lang=en]`: the login page of a pending request again,
/// e.g. in the other language.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<forms::LoginPage>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    match state.provider.auth_request(&school, &query.req).await {
        Ok(Some(request)) => page(&state, &req, &school, &query.req, &request, None),
        Ok(None) => pages::error_page(&expired(), locale.as_deref()),
        Err(e) => pages::error_page(&e, locale.as_deref()),
    }
}

/// `POST /schools/{school}/login` (req, csrf, username, password).
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::PasswordLogin>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let chosen = pages::locale(&req, None);
    let locale = chosen.as_deref();
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(
            &OAuthError::access_denied(
                "the form expired or was not sent from our page; start again",
            ),
            locale,
        );
    }
    let request_id = form.req.as_str();
    let request = match state.provider.auth_request(&school, request_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return pages::error_page(&expired(), locale),
        Err(e) => return pages::error_page(&e, locale),
    };
    let proof = state
        .provider
        .password_login(&school, &form.username, &form.password, &client_ip(&req))
        .await;
    let issuer = state.issuer(&school.code);
    let origin = origin(&req);
    let attempt = Attempt {
        school: &school,
        issuer: &issuer,
        request_id,
        request: &request,
        origin: &origin,
    };
    let concluded = state
        .provider
        .conclude_login(&attempt, Method::Password, &form.username, proof)
        .await;
    state
        .metrics
        .count_login(&school, Method::Password, concluded.code);
    let again = |message: &'static pages::Message, status| {
        let mut r = page(&state, &req, &school, request_id, &request, Some(message));
        *r.status_mut() = status;
        r
    };
    match concluded.result {
        Ok(Outcome::Done(done)) => {
            let mut r = HttpResponse::Found()
                .insert_header(("Location", done.url))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
            let _ = r.add_cookie(&new_session_cookie(&state, &school, &done.sid));
            r
        }
        Ok(Outcome::Next { user, next }) => {
            step_page(&state, &req, &school, request_id, &request, &user, next)
        }
        Ok(Outcome::Refused) => again(&pages::LEVEL_UNREACHABLE, StatusCode::FORBIDDEN),
        Err(Failure::Proof(LoginError::Invalid)) => again(&pages::WRONG_PASSWORD, StatusCode::OK),
        Err(Failure::Proof(LoginError::Throttled(wait))) => {
            let mut r = again(&pages::THROTTLED, StatusCode::TOO_MANY_REQUESTS);
            if let Ok(v) = wait.max(1).to_string().parse() {
                r.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            r
        }
        Err(Failure::Proof(LoginError::NotAllowed)) => {
            again(&pages::PASSWORD_NOT_ALLOWED, StatusCode::FORBIDDEN)
        }
        Err(Failure::Proof(LoginError::Store(e)) | Failure::Unavailable(e)) => {
            pages::error_page(&e, locale)
        }
    }
}

/// The login page asking the account `user` for the next factor, `next`.
pub fn step_page(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    user: &User,
    next: Method,
) -> HttpResponse {
    let mut request = request.clone();
    request.login_hint = Some(user.username.clone());
    // The client asked for more than a password, or the school's policy needs both.
    let (message, step) = match next {
        Method::Certificate if request.required_level >= 2 => (&pages::STEP_UP_CARD, "card"),
        Method::Certificate => (&pages::NEED_CARD_TOO, "card"),
        _ => (&pages::NEED_PASSWORD, "password"),
    };
    let extra = Extra {
        notice: Some(message),
        step: Some(step),
        ..Extra::default()
    };
    render(state, req, school, request_id, &request, extra)
}
