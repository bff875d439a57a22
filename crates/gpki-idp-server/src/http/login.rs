//! The plain password login page (the full account-first page with card login is issue 4).

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::model::School;
use gpki_idp_core::oidc::authorize::AuthRequest;
use gpki_idp_core::oidc::session::{LoginError, Session};
use gpki_idp_core::oidc::ACR_PASSWORD;
use gpki_idp_core::{random_token, OAuthError};

use super::oidc::{complete, school_of, school_or_return, session_cookie};
use super::pages;
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

/// Renders the login page for a pending request.
pub fn page(
    state: &AppState,
    school: &School,
    request_id: &str,
    request: &AuthRequest,
    error: Option<&pages::Message>,
) -> HttpResponse {
    let (csrf, cookie) = csrf_cookie(state, school);
    let mut response = pages::login(&pages::LoginPage {
        school,
        request_id,
        csrf: &csrf,
        login_hint: request.login_hint.as_deref(),
        error,
        locale: request.ui_locales.as_deref(),
        component_origin: &state.component_origin,
        redirect_uri: &request.redirect_uri,
    });
    let _ = response.add_cookie(&cookie);
    response
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

fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let locale = None;
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
    let user = match outcome {
        Ok(u) => u,
        Err(LoginError::Invalid) => {
            return page(
                &state,
                &school,
                request_id,
                &request,
                Some(&pages::WRONG_PASSWORD),
            )
        }
        Err(LoginError::Throttled) => {
            let mut r = page(
                &state,
                &school,
                request_id,
                &request,
                Some(&pages::THROTTLED),
            );
            *r.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
            return r;
        }
        Err(LoginError::NotAllowed) => {
            let mut r = page(
                &state,
                &school,
                request_id,
                &request,
                Some(&pages::PASSWORD_NOT_ALLOWED),
            );
            *r.status_mut() = actix_web::http::StatusCode::FORBIDDEN;
            return r;
        }
        Err(LoginError::Store(e)) => return pages::error_page(&e, locale),
    };
    let session = Session {
        user_id: user.id,
        auth_time: gpki_idp_core::now(),
        acr: ACR_PASSWORD.into(),
        amr: vec!["pwd".into()],
    };
    let sid = match state.provider.create_session(&school, &session).await {
        Ok(sid) => sid,
        Err(e) => return pages::error_page(&e, locale),
    };
    // The pending request completes once.
    if !matches!(
        state.provider.take_auth_request(&school, request_id).await,
        Ok(Some(_))
    ) {
        return pages::error_page(
            &OAuthError::invalid_request("the login request was already used"),
            locale,
        );
    }
    let mut response = complete(&state, &school, &request, &session).await;
    let ttl = state.provider.settings.session_ttl.as_secs() as i64;
    let _ = response.add_cookie(&session_cookie(&state, &school, &sid, ttl));
    response
}
