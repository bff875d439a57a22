use crate::twice;

pub fn pair(x: u32) -> (u32, u32) {
    twice!(x)
}
