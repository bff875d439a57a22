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
            self.set_chosen_password(&user, hash, changed).await?;
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
