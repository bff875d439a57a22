pub fn back() {}

pub fn again() {
    crate::raw_a::go();
}
