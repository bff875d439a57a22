mod inner;

pub use inner::*;
