//! Mentions `use crate::tricky::thing;` in a doc comment.

// use crate::tricky::thing;
/* outer /* inner */ crate::tricky::thing(); */

pub const TEXT: &str = "use crate::tricky::thing; crate::tricky::thing()";
pub const RAW: &str = r##"a "# crate::tricky::thing() "##;
pub const ESCAPED: &str = "\" crate::tricky::thing() \\";
pub const BRACES: [char; 2] = ['{', '}'];
pub const QUOTE: char = '"';

/// ```
/// use crate::tricky::thing;
/// thing();
/// ```
pub fn f<'a>(x: &'a str) -> &'a str {
    'outer: loop {
        break 'outer;
    }
    x
}

#[cfg(test)]
mod tests {
    use crate::tricky::thing;

    const OPEN: char = '{';
    const CLOSE: &str = "}}";

    #[test]
    fn t() {
        thing();
    }
}

#[cfg(test)]
mod leaf_tests;

pub fn g() -> &'static str {
    TEXT
}
