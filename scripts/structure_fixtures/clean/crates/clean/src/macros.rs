//! An exported macro and a local one given a path; their users use macros, not the reverse.
#[macro_export]
macro_rules! twice {
    ($e:expr) => {{
        $crate::leaf::g();
        ($e, $e)
    }};
}

macro_rules! local {
    () => {
        0
    };
}

pub(crate) use local;
