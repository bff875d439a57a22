// The test module comes first; the code after it is production code and must be read.
#[cfg(test)]
mod tests {
    const CLOSE: char = '}';
    const TEXT: &str = "}}";

    #[test]
    fn t() {}
}

pub fn go() {
    crate::after_b::back();
}
