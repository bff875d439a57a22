pub fn helper() {}

pub fn make() -> super::a::Thing {
    super::a::build()
}
