//! OAuth request parameters from a query string or a form body, refusing a parameter sent
//! twice (RFC 6749 §3.1: "MUST NOT be included more than once"): serde's maps keep one of the
//! two silently, and which one a proxy, a WAF and we each read can differ.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use gpki_idp_core::error::Error;

use super::errors::json_error;

/// The largest form body an OAuth endpoint reads.
const FORM_LIMIT: usize = 64 * 1024;

/// Parameters of an OAuth request, each name at most once.
pub struct Params(pub HashMap<String, String>);

impl std::ops::Deref for Params {
    type Target = HashMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Parses `application/x-www-form-urlencoded` text, refusing repeated names.
pub fn parse(text: &[u8]) -> Result<HashMap<String, String>, Error> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        if params
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(Error::invalid_request(
                "a parameter is included more than once",
            ));
        }
    }
    Ok(params)
}

fn refused(e: Error) -> actix_web::Error {
    actix_web::error::InternalError::from_response(e.description.clone(), json_error(&e)).into()
}

/// The query string's parameters.
pub struct QueryParams(pub Params);

impl FromRequest for QueryParams {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            parse(req.query_string().as_bytes())
                .map(|p| QueryParams(Params(p)))
                .map_err(refused),
        )
    }
}

/// A form body's parameters (`application/x-www-form-urlencoded`, at most 64 KiB).
pub struct FormParams(pub Params);

impl FromRequest for FormParams {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_form = req
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_form {
                return Err(refused(Error::invalid_request(
                    "the body must be application/x-www-form-urlencoded",
                )));
            }
            let bytes = body.await?;
            if bytes.len() > FORM_LIMIT {
                return Err(refused(Error::payload_too_large("the form is too large")));
            }
            parse(&bytes)
                .map(|p| FormParams(Params(p)))
                .map_err(refused)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_parameter_sent_twice_is_refused() {
        assert_eq!(parse(b"a=1&b=2").unwrap().len(), 2);
        assert_eq!(
            parse(b"a=1&a=1").unwrap_err().code,
            gpki_idp_core::code::Code::InvalidRequest
        );
        assert_eq!(parse(b"").unwrap().len(), 0);
        assert_eq!(parse(b"state=%E4%B8%AD").unwrap()["state"], "中");
    }
}
