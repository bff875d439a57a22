pub struct Item;

pub(in crate::parent) fn hidden() {}

pub fn other() -> u32 {
    super::LIMIT + crate::leaf::g().len() as u32
}
