//! The plain password login page (the full account-first page with card login is issue 4).

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::model::School;
use gpki_idp_core::model::User;
use gpki_idp_core::oidc::authorize::AuthRequest;
use gpki_idp_core::oidc::session::{LoginError, Session};
use gpki_idp_core::oidc::step::Step;
use gpki_idp_core::policy::Factors;
use gpki_idp_core::{random_token, OAuthError};

use super::oidc::{completion_url, school_of, school_or_return, session_cookie};
use super::{client_ip, pages};
use crate::app::AppState;

pub const CSRF_COOKIE: &str = "gpki_csrf";

/// A fresh double-submit CSRF token and its cookie (scoped to the school's path).
pub fn csrf_cookie(state: &AppState, school: &School) -> (String, Cookie<'static>) {
    let csrf = random_token(24);
    let cookie = Cookie::build(CSRF_COOKIE, csrf.clone())
        .path(format!("/schools/{}", school.code))
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .finish();
    (csrf, cookie)
}

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
    let (csrf, cookie) = csrf_cookie(state, school);
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
    let _ = response.add_cookie(&cookie);
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

/// `GET /schools/{school}/login?req=…[&lang=en]`: the login page of a pending request again,
/// e.g. in the other language.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let request_id = query.get("req").map(String::as_str).unwrap_or_default();
    let locale = pages::locale(&req, None);
    match state.provider.auth_request(&school, request_id).await {
        Ok(Some(request)) => page(&state, &req, &school, request_id, &request, None),
        Ok(None) => pages::error_page(
            &OAuthError::invalid_request(
                "the login request expired; go back to the school portal and start again",
            ),
            locale.as_deref(),
        ),
        Err(e) => pages::error_page(&e, locale.as_deref()),
    }
}

/// An audit event with the request's address and user agent.
pub fn audit_event(
    school: &School,
    req: &HttpRequest,
    event: &str,
    outcome: &str,
    account: &str,
    client_id: Option<&str>,
) -> gpki_idp_core::audit::AuditEvent {
    let mut e = gpki_idp_core::audit::AuditEvent::new(school.id, event, outcome, account);
    e.subject_user = Some(account.to_string()).filter(|a| !a.is_empty());
    e.client_id = client_id.map(str::to_string);
    e.ip = Some(client_ip(req));
    e.user_agent = req
        .headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect());
    e
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let chosen = pages::locale(&req, None);
    let locale = chosen.as_deref();
    let csrf_ok = req
        .cookie(CSRF_COOKIE)
        .is_some_and(|c| !c.value().is_empty() && c.value() == field("csrf"));
    if !csrf_ok {
        return pages::error_page(
            &OAuthError::access_denied(
                "the form expired or was not sent from our page; start again",
            ),
            locale,
        );
    }
    let request_id = field("req");
    let request = match state.provider.auth_request(&school, request_id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return pages::error_page(
                &OAuthError::invalid_request(
                    "the login request expired; go back to the school portal and start again",
                ),
                locale,
            )
        }
        Err(e) => return pages::error_page(&e, locale),
    };
    let outcome = state
        .provider
        .password_login(
            &school,
            field("username"),
            field("password"),
            &client_ip(&req),
        )
        .await;
    let code = match &outcome {
        Ok(_) => "success",
        Err(LoginError::Invalid) => "invalid_credentials",
        Err(LoginError::Throttled) => "throttled",
        Err(LoginError::NotAllowed) => "method_not_allowed",
        Err(LoginError::Store(e)) => e.code,
    };
    let event = audit_event(
        &school,
        &req,
        "login.password",
        code,
        field("username"),
        Some(&request.client_id),
    );
    let recorded = state.provider.record(event).await;
    state
        .metrics
        .logins
        .with_label_values(&[school.code.as_str(), "password", code])
        .inc();
    if let (Ok(_), Err(e)) = (&outcome, recorded) {
        // A login that cannot be audited does not happen.
        return pages::error_page(&e, locale);
    }
    let again = |message: &'static pages::Message, status| {
        let mut r = page(&state, &req, &school, request_id, &request, Some(message));
        *r.status_mut() = status;
        r
    };
    let proved = match outcome {
        Ok(p) => p,
        Err(LoginError::Invalid) => return again(&pages::WRONG_PASSWORD, StatusCode::OK),
        Err(LoginError::Throttled) => {
            return again(&pages::THROTTLED, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(LoginError::NotAllowed) => {
            return again(&pages::PASSWORD_NOT_ALLOWED, StatusCode::FORBIDDEN)
        }
        Err(LoginError::Store(e)) => return pages::error_page(&e, locale),
    };
    let step = state
        .provider
        .login_step(&school, request_id, &request, &proved, Factors::PASSWORD)
        .await;
    match step {
        Ok(Step::Done(session)) => {
            match finish(&state, &school, request_id, &request, session).await {
                Ok((url, cookie)) => {
                    let mut response = HttpResponse::Found()
                        .insert_header(("Location", url))
                        .insert_header(("Cache-Control", "no-store"))
                        .finish();
                    let _ = response.add_cookie(&cookie);
                    response
                }
                Err(e) => pages::error_page(&e, locale),
            }
        }
        Ok(Step::NeedCard | Step::NeedPassword) => {
            let waiting = state.provider.auth_request(&school, request_id).await;
            let Ok(Some(waiting)) = waiting else {
                return pages::error_page(&OAuthError::temporarily_unavailable(), locale);
            };
            step_page(
                &state,
                &req,
                &school,
                request_id,
                &waiting,
                &proved.user,
                "card",
            )
        }
        Ok(Step::Refused) => again(&pages::LEVEL_UNREACHABLE, StatusCode::FORBIDDEN),
        Err(e) => pages::error_page(&e, locale),
    }
}

/// The login page asking the account in `request.partial` for the next step (`card` or
/// `password`).
pub fn step_page(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    user: &User,
    next: &str,
) -> HttpResponse {
    let mut request = request.clone();
    request.login_hint = Some(user.username.clone());
    // The client asked for more than a password, or the school's policy needs both.
    let message = match next {
        "card" if request.required_level >= 2 => &pages::STEP_UP_CARD,
        "card" => &pages::NEED_CARD_TOO,
        _ => &pages::NEED_PASSWORD,
    };
    let extra = Extra {
        notice: Some(message),
        step: Some(next),
        ..Extra::default()
    };
    render(state, req, school, request_id, &request, extra)
}

/// Ends a login: starts the browser session, completes the pending request once, and gives
/// the client redirect (with a fresh code) and the session cookie.
pub async fn finish(
    state: &AppState,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    session: Session,
) -> Result<(String, Cookie<'static>), OAuthError> {
    let (sid, session) = state.provider.create_session(school, session).await?;
    // The pending request completes once.
    if !matches!(
        state.provider.take_auth_request(school, request_id).await,
        Ok(Some(_))
    ) {
        return Err(OAuthError::invalid_request(
            "the login request was already used",
        ));
    }
    let url = completion_url(state, school, request, &session).await;
    let ttl = state.provider.settings.session_ttl.as_secs() as i64;
    Ok((url, session_cookie(state, school, &sid, ttl)))
}
