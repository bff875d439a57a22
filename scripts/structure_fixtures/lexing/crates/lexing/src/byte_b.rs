pub fn back() {}

pub fn again() {
    crate::byte_a::go();
}
