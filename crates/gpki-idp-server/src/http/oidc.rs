//! OIDC endpoints of a school's issuer.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::login::{error_description, Resume};
use gpki_idp_core::model::School;
use gpki_idp_core::oidc::authorize::AuthorizeError;
use gpki_idp_core::OAuthError;

use super::errors::json_error;
use super::pages;
use super::params::{FormParams, QueryParams};
use super::request::{bearer_token, client_ip};
use super::school::{school_of, school_or_return, session_cookie, SESSION_COOKIE};
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

/// A redirect to the client with `params` added to its redirect URI.
pub fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> HttpResponse {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return json_error(&OAuthError::invalid_request("bad redirect_uri"));
    };
    // No parameters: the URI as registered (no bare `?`).
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params.iter());
    }
    HttpResponse::Found()
        .insert_header(("Location", url.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn error_redirect(
    redirect_uri: &str,
    state_param: Option<&str>,
    issuer: &str,
    e: &OAuthError,
) -> HttpResponse {
    let text = error_description(&e.description);
    let mut params = vec![
        ("error", e.code),
        ("error_description", text.as_str()),
        ("iss", issuer),
    ];
    if let Some(s) = state_param {
        params.push(("state", s));
    }
    redirect_to(redirect_uri, &params)
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
    let request = match state.provider.authorize_request(&school, &query).await {
        Ok((request, _client)) => request,
        Err(AuthorizeError::Page(e)) => {
            return pages::error_page(&e, query.get("ui_locales").map(String::as_str))
        }
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state: s,
            error,
        }) => return error_redirect(&redirect_uri, s.as_deref(), &issuer, &error),
    };
    let session = current_session(&state, &school, &req).await;
    let mut request = request;
    let resume = state
        .provider
        .resume(&school, &issuer, &mut request, session)
        .await;
    let step_up = match resume {
        Ok(Resume::Complete(url)) => {
            return HttpResponse::Found()
                .insert_header(("Location", url))
                .insert_header(("Cache-Control", "no-store"))
                .finish()
        }
        Ok(Resume::LoginRequired) => {
            let e = OAuthError::login_required("the user is not logged in");
            return error_redirect(&request.redirect_uri, request.state.as_deref(), &issuer, &e);
        }
        Ok(Resume::StepUp { user, next }) => Some((user, next)),
        Ok(Resume::Login) => None,
        Err(e) => return pages::error_page(&e, request.ui_locales.as_deref()),
    };
    let ip = client_ip(&req);
    match state
        .provider
        .save_auth_request(&school, &request, &ip)
        .await
    {
        Ok(id) => match &step_up {
            Some((user, next)) => {
                super::login::step_page(&state, &req, &school, &id, &request, user, *next)
            }
            None => super::login::page(&state, &req, &school, &id, &request, None),
        },
        Err(e) => pages::error_page(&e, request.ui_locales.as_deref()),
    }
}

async fn current_session(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
) -> Option<gpki_idp_core::oidc::session::Session> {
    let sid = req.cookie(SESSION_COOKIE)?;
    state
        .provider
        .session(school, sid.value())
        .await
        .ok()
        .flatten()
}

/// The school of the path, its issuer, and the authenticated calling client.
async fn caller(
    state: &AppState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<(School, String, gpki_idp_core::model::Client), HttpResponse> {
    let school = school_of(state, req).await?;
    let issuer = state.issuer(&school.code);
    let client = state
        .provider
        .authenticate_client(&school, &issuer, authorization(req), form)
        .await
        .map_err(|e| json_error(&e))?;
    Ok((school, issuer, client))
}

fn authorization(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
}

pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    FormParams(form): FormParams,
) -> HttpResponse {
    let (school, issuer, client) = match caller(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let outcome = state.provider.token(&school, &issuer, &client, &form).await;
    // Label values from a fixed set, so a client cannot grow the metric's cardinality.
    let grant = match form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default()
    {
        "authorization_code" => "authorization_code",
        "refresh_token" => "refresh_token",
        "client_credentials" => "client_credentials",
        _ => "other",
    };
    let result = outcome.as_ref().map(|_| "ok").unwrap_or_else(|e| e.code);
    state
        .metrics
        .tokens
        .with_label_values(&[grant, result])
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
    let (school, _issuer, client) = match caller(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(token) = form.get("token") else {
        return json_error(&OAuthError::invalid_request("token is missing"));
    };
    match state.provider.revoke(&school, &client, token).await {
        Ok(()) => no_store(HttpResponse::Ok().finish()),
        Err(e) => json_error(&e),
    }
}

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    FormParams(form): FormParams,
) -> HttpResponse {
    let (school, issuer, client) = match caller(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // RFC 7662 §2.1: the caller must authenticate; a public client has nothing to prove.
    if client.public_client {
        return json_error(&OAuthError::invalid_client(
            "introspection needs an authenticated confidential client",
        ));
    }
    let Some(token) = form.get("token") else {
        return json_error(&OAuthError::invalid_request("token is missing"));
    };
    match state
        .provider
        .introspect(&school, &issuer, &client, token)
        .await
    {
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

/// RP-initiated logout: ends the session; redirects only to a URI registered for the client
/// named by a valid id_token_hint.
async fn logout_with(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: HashMap<String, String>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    if let Some(sid) = req.cookie(SESSION_COOKIE) {
        let _ = state.provider.end_session(&school, sid.value()).await;
    }
    let clear = session_cookie(&state, &school, "", 0);
    let hint = match query.get("id_token_hint") {
        Some(jwt) => state.provider.verify_own_jwt(&school, jwt).await,
        None => None,
    };
    let client_id = hint
        .as_ref()
        .and_then(|c| c["aud"].as_str().map(str::to_string));
    let target = query.get("post_logout_redirect_uri");
    if let (Some(client_id), Some(target)) = (client_id, target) {
        if let Ok(Some(client)) = state.provider.client(school.id, &client_id).await {
            if client.post_logout_redirect_uris.iter().any(|u| u == target) {
                let params: Vec<(&str, &str)> = query
                    .get("state")
                    .map(|s| vec![("state", s.as_str())])
                    .unwrap_or_default();
                let mut response = redirect_to(target, &params);
                let _ = response.add_cookie(&clear);
                return response;
            }
        }
    }
    let mut response = pages::logged_out(query.get("ui_locales").map(String::as_str));
    let _ = response.add_cookie(&clear);
    response
}
