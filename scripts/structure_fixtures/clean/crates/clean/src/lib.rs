//! Tricky but fine: nothing here may be reported. leaf names tricky only in strings, comments,
//! doc examples and tests; tricky uses leaf for real, so any of those read as code would make
//! a circle leaf <-> tricky.
pub mod leaf;
pub mod macros;
pub mod outer;
pub mod parent;
pub mod tricky;
pub mod user;
