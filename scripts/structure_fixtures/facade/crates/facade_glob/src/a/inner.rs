pub struct Thing;

pub fn build() -> Thing {
    crate::b::helper();
    Thing
}
