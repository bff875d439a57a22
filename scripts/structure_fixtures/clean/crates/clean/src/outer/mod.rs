//! A restricted visibility's path (`pub(in crate::outer)`) is not a use: no circle
//! outer <-> outer::inner.
mod inner;

pub fn run() -> u32 {
    inner::value()
}
