pub fn issue() {
    crate::r::rf();
}
