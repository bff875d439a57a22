pub fn go() { let _b = br"//"; let _c = b"\"//"; let _d = b'"'; crate::byte_b::back(); }
