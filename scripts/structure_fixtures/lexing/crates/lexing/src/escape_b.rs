pub fn back() {}

pub fn again() {
    crate::escape_a::go();
}
