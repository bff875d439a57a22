pub fn go() -> char { let q = '\''; let _d = '\"'; crate::escape_b::back(); let _s = "'"; q }
