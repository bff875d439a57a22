pub fn go() -> char { let q = '"'; crate::quote_b::back(); let _s = "x"; q }
