pub fn qf() {}

pub fn back() {
    crate::p::pf();
}
