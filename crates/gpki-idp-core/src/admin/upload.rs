//! Lists sent as a file (the user import, the onboarding list): CSV or JSON by the request's
//! media type, and the `dry_run` query parameter.

use serde::Deserialize;

use super::invalid;
use crate::error::Error;

/// The query of an upload: `?dry_run=true|false`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    #[serde(default)]
    pub dry_run: Option<String>,
}

impl UploadQuery {
    /// Whether to check and report without writing (false unless sent).
    pub fn dry_run(&self) -> Result<bool, Error> {
        match self.dry_run.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(invalid("dry_run: true or false")),
        }
    }
}

/// An uploaded list, by its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upload<'a> {
    Csv(&'a str),
    Json(&'a [u8]),
}

impl<'a> Upload<'a> {
    /// `text/csv` (UTF-8) or `application/json`; anything else is 415.
    pub fn read(content_type: &str, bytes: &'a [u8]) -> Result<Self, Error> {
        if content_type.starts_with("text/csv") {
            std::str::from_utf8(bytes)
                .map(Upload::Csv)
                .map_err(|_| invalid("the CSV is not UTF-8"))
        } else if content_type.starts_with("application/json") {
            Ok(Upload::Json(bytes))
        } else {
            Err(Error::unsupported_media_type(
                "send text/csv or application/json",
            ))
        }
    }
}

/// Refuses a body over `max` bytes with 413 and `why`.
pub fn check_size(bytes: &[u8], max: usize, why: &str) -> Result<(), Error> {
    if bytes.len() > max {
        Err(Error::payload_too_large(why))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_and_media_types() {
        let q = |v: Option<&str>| UploadQuery {
            dry_run: v.map(str::to_string),
        };
        assert!(!q(None).dry_run().unwrap());
        assert!(q(Some("true")).dry_run().unwrap());
        assert!(!q(Some("false")).dry_run().unwrap());
        assert_eq!(
            q(Some("yes")).dry_run().unwrap_err().code,
            crate::code::Code::InvalidRequest
        );
        assert_eq!(
            Upload::read("text/csv; charset=utf-8", b"a").unwrap(),
            Upload::Csv("a")
        );
        assert_eq!(
            Upload::read("text/csv", b"\xff").unwrap_err().code,
            crate::code::Code::InvalidRequest
        );
        assert_eq!(
            Upload::read("application/json", b"[]").unwrap(),
            Upload::Json(b"[]")
        );
        assert_eq!(
            Upload::read("text/plain", b"").unwrap_err().code,
            crate::code::Code::UnsupportedMediaType
        );
        assert_eq!(
            check_size(b"abc", 2, "big").unwrap_err().code,
            crate::code::Code::PayloadTooLarge
        );
        assert!(check_size(b"ab", 2, "big").is_ok());
    }
}
