//! A test module in a file of its own: tests may reach anywhere.
use crate::tricky::thing;

#[test]
fn reaches() {
    thing();
}
