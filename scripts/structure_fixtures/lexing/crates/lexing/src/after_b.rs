pub fn back() {}

pub fn again() {
    crate::after_a::go();
}
