use crate::oidc::token as t;

pub fn rf() {}

pub fn issue_twice() {
    t::issue();
    t::issue();
}
