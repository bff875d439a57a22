pub fn back() {}

pub fn again() {
    crate::quote_a::go();
}
