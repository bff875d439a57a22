pub fn back() {}

pub fn again() {
    crate::comment_a::go();
}
