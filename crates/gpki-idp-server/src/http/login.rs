//! The login page and its password form. The login itself is the domain's
//! (`Provider::log_in`); this parses, makes that one call and answers.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::code::{Message, Notice};
use gpki_idp_core::error::Error;
use gpki_idp_core::factor::Factor;
use gpki_idp_core::login::{Outcome, Proof, Refusal};
use gpki_idp_core::model::{School, User};
use gpki_idp_core::oidc::request::AuthRequest;

use super::errors::as_error;
use super::forms;
use super::pages;
use super::password_change::change_url;
use super::request::AttemptContext;
use super::school::{add_login_cookies, school_or_return};
use crate::app::AppState;

/// What the login page shows besides the form: an error, or a notice and the step a started
/// login still needs.
#[derive(Default)]
struct Extra {
    error: Option<Message>,
    notice: Option<Message>,
    step: Option<Factor>,
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    extra: Extra,
) -> HttpResponse {
    let (csrf, cookie) = super::csrf::token(state, req);
    let locale = pages::locale(req, request.ui_locales.as_deref());
    let mut response = pages::login(&pages::LoginPage {
        school,
        request_id,
        csrf: &csrf,
        login_hint: request.login_hint.as_deref(),
        error: extra.error.as_ref(),
        notice: extra.notice.as_ref(),
        step: extra.step.map(step_name),
        locale: locale.as_deref(),
        component_origin: &state.component_origin,
        redirect_uri: &request.redirect_uri,
    });
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}

/// The page's name of a step: what its script shows first.
fn step_name(factor: Factor) -> &'static str {
    match factor {
        Factor::Card => "card",
        Factor::Password => "password",
    }
}

/// Renders the login page for a pending request.
pub fn page(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
) -> HttpResponse {
    render(state, req, school, request_id, request, Extra::default())
}

/// The login page again with a refusal on it, under the refusal's status and headers.
fn refused(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    e: &Error,
) -> HttpResponse {
    let extra = Extra {
        error: Some(e.code.message()),
        ..Extra::default()
    };
    as_error(render(state, req, school, request_id, request, extra), e)
}

/// `GET /schools/{school}/login?req=…[&lang=en]`: the login page of a pending request again,
/// e.g. in the other language.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<forms::LoginPage>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    match state.provider.pending_request(&school, &query.req).await {
        Ok(request) => page(&state, &req, &school, &query.req, &request),
        Err(e) => pages::error_page(&e, pages::locale(&req, None).as_deref()),
    }
}

/// `POST /schools/{school}/login` (req, csrf, username, password).
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::PasswordLogin>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let context = AttemptContext::of(&state, &req, &school);
    let attempt = context.attempt(&school, &form.req, &form.csrf);
    let proof = Proof::Password {
        username: &form.username,
        password: &form.password,
    };
    let concluded = state.provider.log_in(&attempt, proof).await;
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
        Ok(Outcome::ChangePassword(_)) => HttpResponse::SeeOther()
            .insert_header(("Location", change_url(&school, &form.req)))
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Ok(Outcome::Next(step)) => {
            let next = Step {
                user: &step.user,
                next: step.next,
                notice: step.notice,
            };
            step_page(&state, &req, &school, &form.req, &step.request, next)
        }
        Err(Refusal {
            error,
            request: Some(request),
        }) if !error.is_unavailable() => {
            refused(&state, &req, &school, &form.req, &request, &error)
        }
        Err(Refusal { error, .. }) => pages::error_page(&error, locale.as_deref()),
    }
}

/// The next step a started login needs, and why.
pub struct Step<'a> {
    pub user: &'a User,
    pub next: Factor,
    pub notice: Notice,
}

/// The login page asking the account for the next factor.
pub fn step_page(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    step: Step<'_>,
) -> HttpResponse {
    let mut request = request.clone();
    request.login_hint = Some(step.user.username.clone());
    let extra = Extra {
        notice: Some(step.notice.message()),
        step: Some(step.next),
        ..Extra::default()
    };
    render(state, req, school, request_id, &request, extra)
}
