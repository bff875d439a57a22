use crate::oidc;

pub fn sf() -> oidc::session::Session {
    oidc::session::start()
}
