use crate::OAuthError;

pub struct Event;

pub fn record(e: &OAuthError) -> Event {
    let _ = e;
    Event
}
