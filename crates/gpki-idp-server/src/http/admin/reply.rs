//! The admin API's answers: JSON with `Cache-Control: no-store`, lists as
//! `{"items", "next_cursor"}`, entity tags, and any error as its stable code.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use gpki_idp_core::admin::listing::Listing;
use gpki_idp_core::error::Error;
use serde_json::{json, Value};

use crate::http::errors::json_error;

/// A handler's result: the answer, or the ready error answer.
pub type Answer = Result<HttpResponse, HttpResponse>;

/// Runs a handler body and turns either side into the response.
macro_rules! answer {
    ($body:block) => {{
        let result: $crate::http::admin::reply::Answer = async { $body }.await;
        result.unwrap_or_else(|e| e)
    }};
}
pub(crate) use answer;

pub fn fail(e: Error) -> HttpResponse {
    json_error(&e)
}

/// A store or domain error as the ready answer.
pub trait OrFail<T> {
    fn or_fail(self) -> Result<T, HttpResponse>;
}

impl<T, E: Into<Error>> OrFail<T> for Result<T, E> {
    fn or_fail(self) -> Result<T, HttpResponse> {
        self.map_err(|e| fail(e.into()))
    }
}

pub fn ok(v: Value) -> Answer {
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

pub fn created(v: Value) -> Answer {
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

/// With the value's `etag` as the `ETag` header.
pub fn tagged(status: StatusCode, v: Value) -> Answer {
    let tag = v["etag"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((header::ETAG, tag))
        .json(v))
}

pub fn no_content() -> Answer {
    Ok(HttpResponse::NoContent().finish())
}

pub fn list(page: Listing) -> Answer {
    ok(json!(page))
}

/// `{"items": [...]}` without a cursor (lists that are never long).
pub fn items(items: Vec<Value>) -> Answer {
    ok(json!({ "items": items }))
}
