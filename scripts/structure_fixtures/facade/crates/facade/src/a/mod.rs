mod inner;

pub use self::inner::Thing;
