//! The parameters of an OAuth request (a query string or a form, each name once: the server
//! refuses a repeated one before the domain sees it).

use std::collections::HashMap;

/// The parameter `name`, when it was sent with a value: RFC 6749 §3.1 treats a parameter
/// sent without a value as omitted.
pub fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}
