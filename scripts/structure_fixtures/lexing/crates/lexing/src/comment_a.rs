pub fn go() { /* a "quote */ crate::comment_b::back(); /* " and /* nested */ */ }
