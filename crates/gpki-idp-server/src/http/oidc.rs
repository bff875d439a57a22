//! OIDC endpoints of a school's issuer.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::login::{Authorized, Logout, PendingLogin};
use gpki_idp_core::model::School;
use gpki_idp_core::oidc::endpoint::ClientCall;

use super::errors::json_error;
use super::login::Step;
use super::pages;
use super::params::{FormParams, QueryParams};
use super::request::{bearer_token, client_ip};
use super::school::{school_or_return, session_cookie, SESSION_COOKIE};
use crate::app::AppState;

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}

pub async fn discovery(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    HttpResponse::Ok().json(state.provider.discovery(&state.issuer(&school.code)))
}

pub async fn jwks(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    match state.provider.jwks(&school).await {
        Ok(jwks) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "public, max-age=60"))
            .json(jwks),
        Err(e) => json_error(&e),
    }
}

fn found(location: String) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `GET /authorize`: the request in the query string.
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: QueryParams,
) -> HttpResponse {
    authorize_with(state, req, query.0 .0).await
}

/// `POST /authorize`: the request as a form (OIDC Core 3.1.2.1).
pub async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: FormParams,
) -> HttpResponse {
    authorize_with(state, req, form.0 .0).await
}

async fn authorize_with(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: HashMap<String, String>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let issuer = state.issuer(&school.code);
    let sid = req.cookie(SESSION_COOKIE);
    let authorized = state
        .provider
        .authorize(&school, &issuer, &query, sid.as_ref().map(|c| c.value()))
        .await;
    match authorized {
        Ok(Authorized::Redirect(url)) => found(url),
        Ok(Authorized::Login(pending)) => {
            let PendingLogin {
                request_id,
                request,
                step,
            } = *pending;
            match step {
                Some(step) => {
                    let step = Step {
                        user: &step.user,
                        next: step.next,
                        notice: step.notice,
                    };
                    super::login::step_page(&state, &req, &school, &request_id, &request, step)
                }
                None => super::login::page(&state, &req, &school, &request_id, &request),
            }
        }
        Err(e) => pages::error_page(&e, query.get("ui_locales").map(String::as_str)),
    }
}

/// A client's call with its credentials.
fn client_call<'a>(
    school: &'a School,
    issuer: &'a str,
    ip: &'a str,
    req: &'a HttpRequest,
    params: &'a HashMap<String, String>,
) -> ClientCall<'a> {
    ClientCall {
        school,
        issuer,
        ip,
        authorization: req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok()),
        params,
    }
}

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    FormParams(form): FormParams,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let issuer = state.issuer(&school.code);
    let ip = client_ip(&req);
    let call = client_call(&school, &issuer, &ip, &req, &form);
    let outcome = state.provider.token_endpoint(&call).await;
    let result = outcome.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
    state
        .metrics
        .tokens
        .with_label_values(&[call.grant_label(), result])
        .inc();
    match outcome {
        Ok(body) => no_store(
            HttpResponse::Ok()
                .insert_header(("Pragma", "no-cache"))
                .json(body),
        ),
        Err(e) => json_error(&e),
    }
}

fn bearer(req: &HttpRequest, form: Option<&HashMap<String, String>>) -> Option<String> {
    let header = bearer_token(req).map(str::to_string);
    header.or_else(|| form.and_then(|f| f.get("access_token").cloned()))
}

pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Option<web::Form<HashMap<String, String>>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let Some(token) = bearer(&req, form.as_deref()) else {
        return super::errors::no_token();
    };
    match state.provider.userinfo(&school, &token).await {
        Ok(claims) => no_store(HttpResponse::Ok().json(claims)),
        Err(e) => json_error(&e),
    }
}

pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    FormParams(form): FormParams,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let issuer = state.issuer(&school.code);
    let ip = client_ip(&req);
    let call = client_call(&school, &issuer, &ip, &req, &form);
    match state.provider.revocation_endpoint(&call).await {
        Ok(()) => no_store(HttpResponse::Ok().finish()),
        Err(e) => json_error(&e),
    }
}

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    FormParams(form): FormParams,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let issuer = state.issuer(&school.code);
    let ip = client_ip(&req);
    let call = client_call(&school, &issuer, &ip, &req, &form);
    match state.provider.introspection_endpoint(&call).await {
        Ok(body) => no_store(HttpResponse::Ok().json(body)),
        Err(e) => json_error(&e),
    }
}

/// `GET /logout`: RP-initiated logout with the parameters in the query string.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: QueryParams,
) -> HttpResponse {
    logout_with(state, req, query.0 .0).await
}

/// `POST /logout`: the same with a form (RP-Initiated Logout §2).
pub async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: FormParams,
) -> HttpResponse {
    logout_with(state, req, form.0 .0).await
}

/// RP-initiated logout: one domain call decides (ask first, the logged-out page, or the
/// client's registered URI); the session cookie is cleared whatever the answer.
async fn logout_with(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: HashMap<String, String>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let issuer = state.issuer(&school.code);
    let sid = req.cookie(SESSION_COOKIE);
    // The confirmation form's answer: our own page's CSRF value and `confirm`.
    let confirmed = params.contains_key("confirm")
        && super::csrf::matches(&state, &req, params.get("csrf").map_or("", String::as_str));
    let locale = pages::locale(&req, params.get("ui_locales").map(String::as_str));
    let outcome = state
        .provider
        .logout(
            &school,
            &issuer,
            sid.as_ref().map(|c| c.value()),
            &params,
            confirmed,
        )
        .await;
    let mut response = match outcome {
        Ok(Logout::Confirm) => {
            let (csrf, cookie) = super::csrf::token(&state, &req);
            let mut page = pages::confirm_logout(&school, &csrf, locale.as_deref());
            super::csrf::set(&mut page, cookie);
            return page;
        }
        Ok(Logout::Redirect(url)) => found(url),
        Ok(Logout::LoggedOut) => pages::logged_out(locale.as_deref()),
        Err(e) => return pages::error_page(&e, locale.as_deref()),
    };
    let _ = response.add_cookie(&session_cookie(&state, &school, "", 0));
    response
}
