pub fn zero() -> u32 {
    0
}

pub fn settings() -> crate::attr_a::Settings {
    crate::attr_a::Settings { n: 0 }
}
