//! The plain password login page (the full account-first page with card login is issue 4).

use std::collections::HashMap;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::model::School;
use gpki_idp_core::model::User;
use gpki_idp_core::oidc::authorize::AuthRequest;
use gpki_idp_core::oidc::session::{LoginError, Session};
use gpki_idp_core::oidc::step::Step;
use gpki_idp_core::policy::Factors;
use gpki_idp_core::OAuthError;

use super::oidc::{completion_url, school_of, school_or_return, session_cookie};
use super::{client_ip, pages};
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

/// Audits a login with the outcome the browser is about to get, and counts it. Called last,
/// once nothing else can fail: the audit log says what the user got.
pub async fn audit_login(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
    method: &str,
    outcome: &str,
    account: &str,
    client_id: &str,
) -> Result<(), OAuthError> {
    let event = audit_event(
        school,
        req,
        &format!("login.{method}"),
        outcome,
        account,
        Some(client_id),
    );
    state
        .metrics
        .logins
        .with_label_values(&[school.code.as_str(), method, outcome])
        .inc();
    state.provider.record(event).await
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
    if !super::csrf::matches(&state, &req, field("csrf")) {
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
    let username = field("username");
    let outcome = state
        .provider
        .password_login(&school, username, field("password"), &client_ip(&req))
        .await;
    let audit = |code: &'static str| {
        audit_login(
            &state,
            &school,
            &req,
            "password",
            code,
            username,
            &request.client_id,
        )
    };
    let again = |message: &'static pages::Message, status| {
        let mut r = page(&state, &req, &school, request_id, &request, Some(message));
        *r.status_mut() = status;
        r
    };
    let proved = match outcome {
        Ok(p) => p,
        Err(e) => {
            let (code, mut response) = match e {
                LoginError::Invalid => (
                    "invalid_credentials",
                    again(&pages::WRONG_PASSWORD, StatusCode::OK),
                ),
                LoginError::Throttled(wait) => {
                    let mut r = again(&pages::THROTTLED, StatusCode::TOO_MANY_REQUESTS);
                    if let Ok(v) = wait.max(1).to_string().parse() {
                        r.headers_mut()
                            .insert(actix_web::http::header::RETRY_AFTER, v);
                    }
                    ("throttled", r)
                }
                LoginError::NotAllowed => (
                    "method_not_allowed",
                    again(&pages::PASSWORD_NOT_ALLOWED, StatusCode::FORBIDDEN),
                ),
                LoginError::Store(e) => (e.code, pages::error_page(&e, locale)),
            };
            // A failure is shown whether or not its audit could be written.
            if audit(code).await.is_err() {
                response = pages::error_page(&OAuthError::temporarily_unavailable(), locale);
            }
            return response;
        }
    };
    let step = state
        .provider
        .login_step(&school, request_id, &request, &proved, Factors::PASSWORD)
        .await;
    let (code, response) = match step {
        Ok(Step::Done(session)) => {
            match finish(&state, &school, request_id, &request, session).await {
                Ok(done) => ("success", Ok(done)),
                Err(e) => (e.code, Err(pages::error_page(&e, locale))),
            }
        }
        Ok(Step::NeedCard | Step::NeedPassword) => {
            match state.provider.auth_request(&school, request_id).await {
                Ok(Some(waiting)) => (
                    "success",
                    Err(step_page(
                        &state,
                        &req,
                        &school,
                        request_id,
                        &waiting,
                        &proved.user,
                        "card",
                    )),
                ),
                _ => {
                    let e = OAuthError::temporarily_unavailable();
                    (e.code, Err(pages::error_page(&e, locale)))
                }
            }
        }
        Ok(Step::Refused) => (
            "acr_unreachable",
            Err(again(&pages::LEVEL_UNREACHABLE, StatusCode::FORBIDDEN)),
        ),
        Err(e) => (e.code, Err(pages::error_page(&e, locale))),
    };
    if let Err(e) = audit(code).await {
        // A login that cannot be audited does not happen: the code and the session cookie
        // never reach the browser.
        if let Ok(done) = &response {
            let _ = state.provider.end_session(&school, &done.sid).await;
        }
        return pages::error_page(&e, locale);
    }
    match response {
        Ok(done) => {
            let mut r = HttpResponse::Found()
                .insert_header(("Location", done.url))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
            let _ = r.add_cookie(&done.cookie);
            r
        }
        Err(page) => page,
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

/// A finished login: the client redirect (with a fresh code), the session cookie and the
/// session's cookie value (to end it if the login cannot be audited).
pub struct Finished {
    pub url: String,
    pub cookie: Cookie<'static>,
    pub sid: String,
}

/// Ends a login: completes the pending request once, starts the browser session, and gives
/// the client redirect (with a fresh code) and the session cookie. The request is used up
/// first, so a double submit cannot leave a second session behind.
pub async fn finish(
    state: &AppState,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    session: Session,
) -> Result<Finished, OAuthError> {
    match state.provider.take_auth_request(school, request_id).await? {
        Some(_) => {}
        None => {
            return Err(OAuthError::invalid_request(
                "the login request was already used",
            ))
        }
    }
    let (sid, session) = state.provider.create_session(school, session).await?;
    let url = match completion_url(state, school, request, &session).await {
        Ok(url) => url,
        Err(e) => {
            let _ = state.provider.end_session(school, &sid).await;
            return Err(e);
        }
    };
    let ttl = state.provider.settings.session_ttl.as_secs() as i64;
    let cookie = session_cookie(state, school, &sid, ttl);
    Ok(Finished { url, cookie, sid })
}
