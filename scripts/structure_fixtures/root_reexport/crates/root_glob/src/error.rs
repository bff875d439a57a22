pub enum OAuthError {
    InvalidRequest,
}

pub fn audited(_e: super::audit::Event) {}
