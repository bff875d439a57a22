pub struct Event;

pub fn record() -> crate::OAuthError {
    crate::OAuthError::InvalidRequest
}
