use crate::b::helper;

pub struct Thing;

impl Thing {
    pub fn new() -> Self {
        helper();
        Thing
    }
}
