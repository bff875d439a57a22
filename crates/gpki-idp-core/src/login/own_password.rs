//! A logged-in teacher changes their own password on the account page (個人資料修改 → 變更密碼):
//! with the present password, or without it when this session was opened with the card
//! (`amr` has `sc`): the card is the recovery factor, so a teacher who forgot the password
//! and has a registered card sets a new one without the GM. A session opened with the
//! password alone must give the present password, checked and throttled as a login's.

use super::event::audit_event;
use super::password_change::ChangeReason;
use crate::audit::Origin;
use crate::code::Code;
use crate::error::Error;
use crate::model::School;
use crate::oidc::throttle::Attempter;
use crate::oidc::Provider;

/// The account page's password form.
pub struct OwnChange<'a> {
    /// The present password; not needed in a session opened with the card.
    pub current: Option<&'a str>,
    pub new: &'a str,
    pub again: &'a str,
    /// The browser's device cookie, for the throttle of a wrong present password.
    pub device: Option<&'a str>,
}

impl Provider {
    /// Changes the password of the account logged in with `sid`; audited
    /// `user.password_changed` (its refusals too, with their code) with the account as actor.
    pub async fn change_own_password(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        form: &OwnChange<'_>,
    ) -> Result<(), Error> {
        let not_logged_in = || Error::of(Code::NotLoggedIn);
        let session = self
            .session(school, sid.ok_or_else(not_logged_in)?)
            .await?
            .ok_or_else(not_logged_in)?;
        let user = self.session_account(school, sid).await?;
        let name = user.username.clone();
        let event = |outcome: &str| {
            let mut e = audit_event(
                origin,
                school,
                "user.password_changed",
                outcome,
                &name,
                None,
            );
            e.subject_user = Some(name.clone());
            e
        };
        let with_card = session.amr.iter().any(|m| m == "sc");
        let result = async {
            let policy = self.password_policy(school).await?;
            if policy.too_new(&user, crate::now()) {
                return Err(Error::of(Code::PasswordTooNew));
            }
            if !with_card {
                let ip = origin.ip.as_deref().unwrap_or_default();
                let who = Attempter {
                    ip,
                    device: form.device,
                };
                let current = form.current.unwrap_or_default();
                match self.check_password(school, &name, current, &who).await {
                    Ok(_) => {}
                    Err(e) if e.code == Code::InvalidCredentials => {
                        return Err(Error::of(Code::PasswordCurrentWrong))
                    }
                    Err(e) => return Err(e),
                }
            }
            let hash = self
                .vet_new_password(&policy, &user, form.new, form.again)
                .await?;
            let reason = if with_card {
                ChangeReason::Card
            } else {
                ChangeReason::Own
            };
            let mut changed = event("success");
            changed.detail = serde_json::json!({ "reason": reason.as_str() });
            // With a minimum age, one change per age: the check above read the account before
            // any of several changes sent at once wrote it (attack round 3: 5 of 8 passed and
            // pushed the earlier passwords out of the history at once).
            let once = self.minimum_age_taken(school, &user, &policy).await?;
            if once.as_deref() == Some("") {
                return Err(Error::of(Code::PasswordTooNew));
            }
            let set = self.set_chosen_password(&user, hash, changed).await;
            if let (Err(_), Some(key)) = (&set, &once) {
                let _ = self.ephemeral.delete(key).await;
            }
            set?;
            Ok(())
        }
        .await;
        match &result {
            // Refused before anything was checked: counted by the throttle only.
            Err(e) if e.code == Code::Throttled || e.is_unavailable() => {}
            Err(e) => {
                let _ = self.record(event(e.code.as_str())).await;
            }
            Ok(()) => {}
        }
        result
    }
}

impl Provider {
    /// With a minimum password age, takes the account's one change of the age: `None` when
    /// the policy has none, `Some("")` when another change took it, else `Some(key)` (given
    /// back when the change fails).
    async fn minimum_age_taken(
        &self,
        school: &School,
        user: &crate::model::User,
        policy: &crate::password_policy::PasswordPolicy,
    ) -> Result<Option<String>, Error> {
        // (A password that must change may always be changed, as `too_new` says.)
        if policy.min_age_days == 0 || policy.must_change(user, crate::now()) {
            return Ok(None);
        }
        let key = format!("pw-own-change:{}:{}", school.id, user.id);
        let ttl = std::time::Duration::from_secs(u64::from(policy.min_age_days) * 86_400);
        let first = self.ephemeral.incr(&key, ttl).await? == 1;
        Ok(Some(if first { key } else { String::new() }))
    }
}
