use crate::leaf;

pub fn thing() -> &'static str {
    leaf::f(leaf::g())
}
