pub enum OAuthError {
    InvalidRequest,
}

pub fn audited(_e: crate::audit::Event) {}
