#[macro_export]
macro_rules! twice {
    ($e:expr) => {
        ($e, $e)
    };
}

pub fn pairs() -> (u32, u32) {
    crate::user::pair(1)
}
