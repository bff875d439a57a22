//! 忘記密碼 without an e-mail: the GM issues a one-time reset code for a teacher and hands it
//! over in person; the teacher enters the account, the code and a new password twice. The
//! code is random (60 bits), kept only as its SHA-256 in the short-lived store with its
//! expiry (`tokens.reset_code_ttl_secs`, a day by default), used once, and tried under the
//! same throttle as a password. (A teacher with a registered card needs no code: a card
//! login lets the account page set a new password, see `own_password`.)
//!
//! Like a login's step, the code lives in the short-lived store: its issue is written there
//! first and removed again when its audit event cannot be committed; its use is taken once,
//! then the password and its audit event are one transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::event::{audit_event, bounded_account};
use super::password_change::ChangeReason;
use crate::audit::Origin;
use crate::code::Code;
use crate::error::Error;
use crate::model::School;
use crate::oidc::throttle::Attempter;
use crate::oidc::Provider;
use crate::token_hash;

/// Letters and digits that cannot be mistaken for one another when read aloud or copied by
/// hand (no 0/O, 1/I).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new code: 12 symbols (60 bits) in groups of four, `ABCD-EFGH-JKLM`.
pub(crate) fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let symbols: Vec<char> = (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Where a code is kept: under the hash of its symbols (case, dashes and spaces ignored).
pub(crate) fn code_key(school: &School, code: &str) -> String {
    let symbols: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    format!("pwreset:{}:{}", school.id, token_hash(&symbols))
}

/// What a code is kept with: the account it resets.
#[derive(Serialize, Deserialize)]
pub(crate) struct Held {
    pub user_id: i64,
}

/// The 忘記密碼 form.
pub struct CodeReset<'a> {
    pub username: &'a str,
    pub code: &'a str,
    pub new: &'a str,
    pub again: &'a str,
    /// The browser's device cookie, for the throttle.
    pub device: Option<&'a str>,
}

impl Provider {
    /// Sets a new password with a GM's reset code: the code must be this account's, unused
    /// and unexpired; the new password meets the school's policy and is not temporary.
    /// Audited `user.password_changed` (reason `reset_code`) with the change, or
    /// `user.password_reset` with the refusal's code.
    pub async fn reset_password_with_code(
        &self,
        school: &School,
        origin: &Origin,
        form: &CodeReset<'_>,
    ) -> Result<(), Error> {
        let typed = bounded_account(form.username);
        let event = |name: &str, outcome: &str| {
            let mut e = audit_event(origin, school, name, outcome, &typed, None);
            e.subject_user = Some(typed.clone()).filter(|t| !t.is_empty());
            e
        };
        let mut made_up = false;
        let result = self.reset_checked(school, origin, form, &mut made_up).await;
        match &result {
            Ok(()) => {}
            // Refused before anything was checked: counted by the throttle only.
            Err(e) if e.code == Code::Throttled || e.is_unavailable() => {}
            // A code nobody issued (no code is kept under its hash) matched nothing and
            // proves nothing: counted by the throttle, not audited. On a school's campus
            // addresses the throttle does not count the address, and no argon2 slows a
            // made-up code, so each would otherwise be an event at the database's pace
            // (attack round 3: 1,561 a second from one pupil).
            Err(_) if made_up => {}
            Err(e) => {
                let _ = self
                    .record(event("user.password_reset", e.code.as_str()))
                    .await;
            }
        }
        result
    }

    async fn reset_checked(
        &self,
        school: &School,
        origin: &Origin,
        form: &CodeReset<'_>,
        made_up: &mut bool,
    ) -> Result<(), Error> {
        let ip = origin.ip.as_deref().unwrap_or_default();
        let who = Attempter {
            ip,
            device: form.device,
        };
        let reserved = self
            .reserve_password_attempt(school, form.username, &who)
            .await?;
        let key = code_key(school, form.code);
        let held: Option<Held> = self.get_json(&key).await?;
        *made_up = held.is_none();
        let user = self
            .directory
            .user_by_username(school.id, form.username)
            .await?;
        let user = match (held, user) {
            (Some(h), Some(u)) if h.user_id == u.id && !u.disabled => u,
            // A wrong code stays counted as a failed attempt.
            _ => return Err(Error::of(Code::ResetCodeInvalid)),
        };
        self.attempt_was_right(reserved).await?;
        let policy = self.password_policy(school).await?;
        let hash = self
            .vet_new_password(&policy, &user, form.new, form.again)
            .await?;
        // Used once: of two uses at once, one takes it.
        if self.take_json::<Held>(&key).await?.is_none() {
            return Err(Error::of(Code::ResetCodeInvalid));
        }
        let mut changed = audit_event(
            origin,
            school,
            "user.password_changed",
            "success",
            &user.username,
            None,
        );
        changed.subject_user = Some(user.username.clone());
        changed.detail = json!({ "reason": ChangeReason::ResetCode.as_str() });
        self.set_chosen_password(&user, hash, changed).await?;
        Ok(())
    }
}
