//! A parent re-exporting its child's items declares them: no circle parent <-> child, even
//! though the child uses an item the parent defines.
mod child;

pub use child::Item;
pub use self::child::other as other_fn;

pub const LIMIT: u32 = 3;

pub(in crate::parent) fn nothing() {}
