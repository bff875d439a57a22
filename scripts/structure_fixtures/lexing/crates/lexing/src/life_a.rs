pub fn go<'a>(x: &'a str) -> &'a str { crate::life_b::back(); let _c = 'x'; x }
