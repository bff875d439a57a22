//! The password a login must change before it completes: set by someone else (the GM or the
//! operator through the admin API or the command line, onboarding's GM password) or older than the policy's maximum age. After every factor
//! is proved, the pending request waits at this step instead of issuing its code; the browser
//! that proved the password sends the new one twice, it is checked against the school's
//! password policy and set (audited `user.password_changed`, with the change), and the login
//! completes as any other: session, code, `login.password_change` with the session.

use super::event::audit_event;
use super::transaction::{Attempt, Concluded, Finished, Outcome, Refusal};
use crate::audit::{Audit, AuditEvent};
use crate::code::Code;
use crate::error::Error;
use crate::factor::{Factor, FactorSet};
use crate::model::{School, User};
use crate::oidc::proved::Partial;
use crate::oidc::request::AuthRequest;
use crate::oidc::session::Session;
use crate::oidc::Provider;
use crate::password;
use crate::password_policy::PasswordPolicy;
use crate::token_hash;

/// The audit event of the change step.
const EVENT: &str = "login.password_change";

/// Tries of the change step a login gets (refused new passwords: too short, too weak, one
/// of the last ones), after which it must start again with its password.
pub const MAX_CHANGE_TRIES: u64 = 10;

/// A login waiting at the change step: its request, its account and the policy the new
/// password meets.
#[derive(Debug)]
pub struct PendingChange {
    pub request: AuthRequest,
    pub user: User,
    pub policy: PasswordPolicy,
}

/// Why a password is changed, as `user.password_changed` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeReason {
    /// At a login, the password being temporary.
    Temporary,
    /// At a login, the password being older than the maximum age.
    Expired,
    /// The holder's own choice, on the account page, with the present password.
    Own,
    /// On the account page, in a session opened with the card (the present password not
    /// asked: the card is the recovery factor).
    Card,
    /// On 忘記密碼, with a reset code the GM issued.
    ResetCode,
}

impl ChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Expired => "expired",
            Self::Own => "own",
            Self::Card => "card",
            Self::ResetCode => "reset_code",
        }
    }
}

impl Provider {
    /// The password policy `school` applies: its own rules over the district's defaults
    /// (the configuration's `[passwords]`).
    pub async fn password_policy(&self, school: &School) -> Result<PasswordPolicy, Error> {
        let own = self.directory.password_policy(school.id).await?;
        Ok(own.over(&self.settings.passwords))
    }

    /// Whether a login that proved `session`'s factors must change `user`'s password first:
    /// only a login that proved the password, and only when it is temporary or expired.
    pub(super) async fn password_change_due(
        &self,
        school: &School,
        user: &User,
        session: &Session,
    ) -> Result<bool, Error> {
        if !session.amr.iter().any(|m| m == "pwd") || user.password_hash.is_none() {
            return Ok(false);
        }
        if user.password_must_change {
            return Ok(true);
        }
        // Only the maximum age is left to ask: one read of the school's rules.
        let policy = self.password_policy(school).await?;
        Ok(policy.must_change(user, crate::now()))
    }

    /// A new password for `user` that meets `policy`: the same twice, long and strong
    /// enough, neither the present one nor one of the policy's history; its argon2 hash.
    pub async fn vet_new_password(
        &self,
        policy: &PasswordPolicy,
        user: &User,
        new: &str,
        again: &str,
    ) -> Result<String, Error> {
        let inputs = [user.username.as_str(), user.display_name.as_str()];
        policy.check_new(new, again, &inputs)?;
        let mut earlier = Vec::new();
        if policy.history > 0 {
            earlier.extend(user.password_hash.clone());
            let limit = policy.earlier_checked();
            if limit > 0 {
                let school_id = user.school_id;
                let found = self.directory.password_history(school_id, user.id, limit);
                earlier.extend(found.await?);
            }
        }
        for stored in earlier {
            if password::verify_pooled(Some(stored), new.to_string()).await? {
                return Err(Error::of(Code::PasswordReused));
            }
        }
        password::hash_pooled(new.to_string()).await
    }

    /// Sets the password `user` chose, with its audit event (actor `actor`), in one
    /// transaction.
    pub(crate) async fn set_chosen_password(
        &self,
        user: &User,
        hash: String,
        event: AuditEvent,
    ) -> Result<User, Error> {
        let audit = Audit::event(event);
        self.directory
            .set_own_password(user.school_id, user.id, hash, audit)
            .await?
            .ok_or_else(|| Error::of(Code::LoginExpired))
    }

    /// The change step of a login at a pending request: the new password twice, from the
    /// browser that proved the old one.
    pub async fn change_password_at_login(
        &self,
        attempt: &Attempt<'_>,
        new: &str,
        again: &str,
    ) -> Concluded {
        let factor = Factor::Password;
        let waiting = match self.waiting_change(attempt).await {
            Ok(found) => found,
            // Nothing was tried: not audited.
            Err((error, request)) => {
                return Concluded {
                    factor,
                    outcome: error.code.as_str(),
                    result: Err(Refusal { error, request }),
                }
            }
        };
        let (request, partial, user) = waiting;
        // Each try may cost argon2 runs (the present and earlier passwords) and an event, and
        // a browser that proved the password once could send them without end: a login gets
        // `MAX_CHANGE_TRIES`, then starts again with its password (attack round 3).
        match self.change_try(attempt).await {
            Ok(true) => {}
            Ok(false) => {
                let error = Error::of(Code::LoginExpired);
                return Concluded {
                    factor,
                    outcome: error.code.as_str(),
                    result: Err(Refusal {
                        error,
                        request: None,
                    }),
                };
            }
            Err(error) => {
                return Concluded {
                    factor,
                    outcome: error.code.as_str(),
                    result: Err(Refusal {
                        error,
                        request: Some(request),
                    }),
                }
            }
        }
        let event = |outcome: &str| {
            let client = Some(request.client_id.as_str());
            let (origin, school) = (attempt.origin, attempt.school);
            audit_event(origin, school, EVENT, outcome, &user.username, client)
        };
        let result = self
            .change_then_finish(attempt, &request, &partial, &user, new, again)
            .await;
        if let Err(refused) = &result {
            let _ = self.record(event(refused.code.as_str())).await;
        }
        let outcome = result
            .as_ref()
            .map_or_else(|e| e.code.as_str(), |_| "success");
        let mut result = result;
        if let Ok(done) = &mut result {
            let marked = self.device_cookie(attempt.school, &user.username, attempt.device);
            done.device = marked.await.ok();
        }
        Concluded {
            factor,
            outcome,
            result: result.map(Outcome::Done).map_err(|error| Refusal {
                error,
                request: Some(request),
            }),
        }
    }

    /// Counts a try at the change step of `attempt`'s pending request: false past
    /// `MAX_CHANGE_TRIES`.
    async fn change_try(&self, attempt: &Attempt<'_>) -> Result<bool, Error> {
        let key = format!(
            "pwchange-try:{}:{}",
            attempt.school.id,
            token_hash(attempt.request_id)
        );
        let ttl = self.settings.authorize_request_ttl;
        Ok(self.ephemeral.incr(&key, ttl).await? <= MAX_CHANGE_TRIES)
    }

    /// Takes the change of `attempt`'s pending request: true the first time only.
    async fn change_taken(&self, attempt: &Attempt<'_>) -> Result<bool, Error> {
        let key = format!(
            "pwchange-set:{}:{}",
            attempt.school.id,
            token_hash(attempt.request_id)
        );
        let ttl = self.settings.authorize_request_ttl;
        Ok(self.ephemeral.incr(&key, ttl).await? == 1)
    }

    /// The pending request `request_id` waiting at the change step for the browser
    /// `browser` (its CSRF value), for the page that asks for the new password.
    pub async fn pending_password_change(
        &self,
        school: &School,
        request_id: &str,
        browser: &str,
    ) -> Result<PendingChange, Error> {
        let (request, _, user) = self
            .waiting(school, request_id, browser)
            .await
            .map_err(|(e, _)| e)?;
        let policy = self.password_policy(school).await?;
        Ok(PendingChange {
            request,
            user,
            policy,
        })
    }

    async fn waiting_change(
        &self,
        attempt: &Attempt<'_>,
    ) -> Result<(AuthRequest, Partial, User), (Error, Option<AuthRequest>)> {
        self.waiting(attempt.school, attempt.request_id, attempt.browser)
            .await
    }

    /// The pending request waiting at the change step for this browser, what it proved, and
    /// its account (enabled).
    async fn waiting(
        &self,
        school: &School,
        request_id: &str,
        browser: &str,
    ) -> Result<(AuthRequest, Partial, User), (Error, Option<AuthRequest>)> {
        let request = self
            .pending_request(school, request_id)
            .await
            .map_err(|e| (e, None))?;
        let expired = || Error::of(Code::LoginExpired);
        let browser = token_hash(browser);
        let Some(partial) = request
            .partial
            .clone()
            .filter(|p| p.password_change.as_deref() == Some(browser.as_str()))
        else {
            return Err((expired(), Some(request)));
        };
        let user = match self.directory.user_by_id(school.id, partial.user_id).await {
            Ok(Some(u)) if !u.disabled => u,
            Ok(_) => return Err((expired(), Some(request))),
            Err(e) => return Err((e.into(), Some(request))),
        };
        Ok((request, partial, user))
    }

    async fn change_then_finish(
        &self,
        attempt: &Attempt<'_>,
        request: &AuthRequest,
        partial: &Partial,
        user: &User,
        new: &str,
        again: &str,
    ) -> Result<Finished, Error> {
        let school = attempt.school;
        let policy = self.password_policy(school).await?;
        let hash = self.vet_new_password(&policy, user, new, again).await?;
        // Set once per login: of two tabs finishing at once, one sets its password and gets
        // the code (attack round 3: 8 tabs set 8 passwords, the last write won, and the tab
        // with the code often had a password that no longer worked).
        if !self.change_taken(attempt).await? {
            return Err(Error::of(Code::LoginExpired));
        }
        let reason = if user.password_must_change {
            ChangeReason::Temporary
        } else {
            ChangeReason::Expired
        };
        let changed = changed_event(attempt, user, &user.username, reason);
        self.set_chosen_password(user, hash, changed).await?;
        let session = Session {
            id: String::new(),
            user_id: user.id,
            auth_time: crate::now(),
            acr: partial.factors.acr().to_string(),
            amr: partial.factors.amr(),
            // The card of this login, when a card step was part of it.
            cert_sha256: partial.cert_sha256.clone(),
        };
        let client = Some(request.client_id.as_str());
        let (origin, name) = (attempt.origin, &user.username);
        let success = audit_event(origin, school, EVENT, "success", name, client);
        self.finish_login(attempt, request, session, success).await
    }
}

/// `user.password_changed` of `user`'s password, changed by `actor` for `reason`.
pub(crate) fn changed_event(
    attempt: &Attempt<'_>,
    user: &User,
    actor: &str,
    reason: ChangeReason,
) -> AuditEvent {
    let mut e = audit_event(
        attempt.origin,
        attempt.school,
        "user.password_changed",
        "success",
        actor,
        None,
    );
    e.subject_user = Some(user.username.clone());
    e.detail = serde_json::json!({ "reason": reason.as_str() });
    e
}

impl Provider {
    /// The pending request waiting at the change step, for the browser `browser` (its CSRF
    /// value), with every factor `session` proved.
    pub(super) fn change_waiting(
        &self,
        request: &AuthRequest,
        user: &User,
        session: &Session,
        browser: &str,
    ) -> AuthRequest {
        let mut waiting = request.clone();
        waiting.partial = Some(Partial {
            user_id: user.id,
            factors: FactorSet::from_amr(&session.amr),
            password_change: Some(token_hash(browser)),
            cert_sha256: session.cert_sha256.clone(),
        });
        waiting
    }
}
