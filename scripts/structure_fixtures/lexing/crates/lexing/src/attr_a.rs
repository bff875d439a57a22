#[derive(serde::Deserialize)]
pub struct Settings {
    #[serde(default = "crate::attr_b::zero")]
    pub n: u32,
}
