use crate::{OAuthError};

pub struct Event;

pub fn record(_e: OAuthError) {}
