use crate::a::Thing;

pub fn helper() {}

pub fn make() -> Thing {
    Thing
}
