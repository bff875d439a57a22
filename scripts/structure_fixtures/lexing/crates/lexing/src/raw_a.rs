pub fn go() { let _r = r#"a "quoted" // not a comment"#; crate::raw_b::back(); }
