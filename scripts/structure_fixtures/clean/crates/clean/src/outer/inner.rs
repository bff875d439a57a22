pub(in crate::outer) fn value() -> u32 {
    1
}
