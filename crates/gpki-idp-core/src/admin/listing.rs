//! Pages of a list: the `limit` and `cursor` query parameters every list route takes, and
//! the `{"items", "next_cursor"}` answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invalid;
use crate::error::Error;

/// A page of a list: at most `limit` items after the cursor.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub after: i64,
    pub limit: i64,
}

impl PageRequest {
    /// From the `limit` and `cursor` query parameters (cursor: the last id seen).
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = parse_limit(limit)?;
        let after = match cursor {
            None => 0,
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|c| *c >= 0)
                .ok_or_else(|| invalid("cursor is not one this API gave"))?,
        };
        Ok(Self { after, limit })
    }

    /// The cursor of the next page: the last id when the page is full.
    pub fn next(&self, count: usize, last_id: Option<i64>) -> Option<String> {
        (count as i64 >= self.limit)
            .then_some(last_id)
            .flatten()
            .map(|id| id.to_string())
    }
}

/// The page size: 100 unless sent, 1 to 500.
pub fn parse_limit(limit: Option<&str>) -> Result<i64, Error> {
    match limit {
        None => Ok(100),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| invalid("limit must be a number from 1 to 500")),
    }
}

/// The query of a plain list route: `?limit=&cursor=`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest, Error> {
        PageRequest::parse(self.limit.as_deref(), self.cursor.as_deref())
    }
}

/// One page of a list as the admin API answers it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Listing {
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// A positive id from a path (`…/certificates/{id}`).
pub fn path_id(text: &str) -> Result<i64, Error> {
    text.parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| invalid("id must be a positive integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("501"), None).is_err());
        assert!(PageRequest::parse(None, Some("x")).is_err());
        let p = PageRequest::parse(Some("2"), Some("7")).unwrap();
        assert_eq!((p.after, p.limit), (7, 2));
        assert_eq!(p.next(2, Some(9)).as_deref(), Some("9"));
        assert_eq!(p.next(1, Some(9)), None);
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 100);
    }

    #[test]
    fn queries_and_ids() {
        let q: ListQuery = serde_json::from_value(serde_json::json!({"limit": "5"})).unwrap();
        assert_eq!(q.page().unwrap().limit, 5);
        assert!(serde_json::from_value::<ListQuery>(serde_json::json!({"other": "1"})).is_err());
        assert_eq!(path_id("12").unwrap(), 12);
        for bad in ["0", "-1", "x", ""] {
            assert_eq!(
                path_id(bad).unwrap_err().code,
                crate::code::Code::InvalidRequest,
                "{bad}"
            );
        }
    }
}
