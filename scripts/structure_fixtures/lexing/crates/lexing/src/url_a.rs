pub fn go() -> &'static str { let u = "https://example.org/x"; crate::url_b::back(); u }
