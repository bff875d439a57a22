//! What a login has proved so far: the account and the school's policy as read for one step
//! ([`Proved`]), and what a pending request keeps of it for the next step ([`Partial`]).
//!
//! Plain data shared by the steps of a login (password, card, the session being stepped up)
//! and the pending request, so that none of those modules needs another.

use serde::{Deserialize, Serialize};

use crate::factor::FactorSet;
use crate::model::User;
use crate::policy::RolePolicy;

/// An account that proved a factor, with the school's login policy as read for that check:
/// the next step is decided on the same reading (one read per login step, and no change of
/// policy between the check and the decision).
#[derive(Debug)]
pub struct Proved {
    pub user: User,
    pub policies: Vec<RolePolicy>,
    /// SHA-256 (hex) of the certificate, when the factor was the card.
    pub cert_sha256: Option<String>,
}

/// A step done for a pending request, waiting for the next one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    pub user_id: i64,
    pub factors: FactorSet,
    /// Every factor is done, and the password must be changed before the login completes:
    /// the SHA-256 of the browser's CSRF value, so that only the browser that proved the
    /// password sets the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_change: Option<String>,
    /// The certificate of a card step done before (or of the session being stepped up).
    #[serde(default)]
    pub cert_sha256: Option<String>,
}
