pub fn back() {}

pub fn again() {
    crate::url_a::go();
}
