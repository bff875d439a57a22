//! Reading an admin request: who calls (bearer token), the school of the path as the caller
//! may see it, the route's scopes, and the body or query as the endpoint's typed input. What
//! the input may hold is checked by `gpki_idp_core::admin`, not here.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use gpki_idp_core::admin::branding::MAX_LOGO_BYTES;
use gpki_idp_core::admin::import::MAX_IMPORT_BYTES;
use gpki_idp_core::admin::Principal;
use gpki_idp_core::error::Error;
use gpki_idp_core::model::School;
use serde::de::DeserializeOwned;

use super::reply::{fail, OrFail};
use super::routes::scopes_of;
use crate::app::AppState;
use crate::http::request::origin;

/// Largest JSON body of an ordinary route: a client with its key set is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest body of the import and onboarding routes (their lists), and of a logo upload.
pub const MAX_UPLOAD_BYTES: usize = MAX_IMPORT_BYTES + 1024;
pub const MAX_LOGO_UPLOAD_BYTES: usize = MAX_LOGO_BYTES + 1024;

/// Reads the body of an authenticated call: nothing is read before the caller proved who it
/// is (a stranger's body is never buffered), and no more than `limit` bytes ever are.
pub async fn read_body(
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, HttpResponse> {
    let too_large = || {
        fail(Error::payload_too_large(format!(
            "the body is over {limit} bytes"
        )))
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| fail(Error::invalid_request(format!("unreadable body: {e}"))))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Who calls, from `Authorization: Bearer …`.
async fn principal(state: &AppState, req: &HttpRequest) -> Result<Principal, HttpResponse> {
    let bearer = crate::http::bearer_token(req).ok_or_else(crate::http::errors::no_token)?;
    let mut who = state.provider.admin_principal(bearer).await.map_err(fail)?;
    who.origin = origin(req);
    Ok(who)
}

/// The caller of `GET /me`: any valid token (the scopes are checked by `Principal::me`).
pub async fn anyone(state: &AppState, req: &HttpRequest) -> Result<Principal, HttpResponse> {
    principal(state, req).await
}

/// The caller and the school of the path, in the order the document gives: token (401),
/// school visible (404), scope (403).
pub async fn caller(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Principal, School), HttpResponse> {
    let who = principal(state, req).await?;
    let code = req.match_info().get("school").unwrap_or_default();
    let school = state.provider.admin_school(&who, code).await.or_fail()?;
    who.require(scopes_of(req)).or_fail()?;
    Ok((who, school))
}

/// The caller of a route without a school in its path.
pub async fn caller_only(state: &AppState, req: &HttpRequest) -> Result<Principal, HttpResponse> {
    let who = principal(state, req).await?;
    who.require(scopes_of(req)).or_fail()?;
    Ok(who)
}

/// The request's media type (empty when not sent).
pub fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A JSON body as the endpoint's input type (unknown fields are refused by the type).
pub fn body<T: DeserializeOwned>(req: &HttpRequest, bytes: &[u8]) -> Result<T, HttpResponse> {
    if !content_type(req).starts_with("application/json") {
        return Err(fail(Error::unsupported_media_type("send application/json")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| fail(Error::invalid_request(format!("bad JSON body: {e}"))))
}

/// The query string as the endpoint's query type: an unknown or repeated parameter is
/// refused.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, HttpResponse> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            fail(Error::invalid_request(format!(
                "malformed query string: {e}"
            )))
        })
}

/// A parameter of the path (`{username}`, `{client_id}`, …).
pub fn path<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// The `If-Match` header, when sent.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
