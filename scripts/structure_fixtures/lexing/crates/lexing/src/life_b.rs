pub fn back() {}

pub fn again() {
    crate::life_a::go();
}
