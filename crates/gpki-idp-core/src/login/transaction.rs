//! One login attempt at a pending authorization request, from the proof to the browser's
//! redirect, in one call ([`Provider::log_in`]): the pending request is loaded, the proof
//! (a password, a card) is checked, the school's policy is asked whether the account may use
//! that factor and what comes next; a finished login uses the request up, starts the session
//! and issues the code; and the audit event records what the browser is about to get.
//!
//! Every outcome is one commit. A finished login writes its session and its code in the
//! short-lived store first, then commits the session's record with the success event in one
//! database transaction, last; a step forward writes the pending request's progress, then
//! commits its event. When the commit fails, what was written on the way is removed again
//! ([`Staged`]); when its outcome is unknown (the store went away during the commit), the
//! session's record is read back once and what is stored decides the answer, so that no
//! audited success is a failure for the browser. A refusal is audited alone, before its
//! answer.
//!
//! Whatever the factor, the same steps run in the same order: a new login method is a new
//! [`Proof`] variant, checked in [`Provider::check_proof`], and nothing else.

use std::time::Duration;

use super::event::{audit_event, bounded_account};
use super::redirect::client_redirect;
use crate::audit::{Audit, AuditEvent, Origin};
use crate::code::Code;
use crate::code::Notice;
use crate::error::Error;
use crate::factor::Factor;
use crate::model::{School, SessionRecord, User};
use crate::oidc::card::CardSignature;
use crate::oidc::code::new_code;
use crate::oidc::proved::Proved;
use crate::oidc::request::AuthRequest;
use crate::oidc::session::Session;
use crate::oidc::step::Step;
use crate::oidc::throttle::Attempter;
use crate::oidc::Provider;
use crate::policy;
use crate::staged::Staged;
use crate::store::StoreError;

/// A login attempt at one pending authorization request.
pub struct Attempt<'a> {
    pub school: &'a School,
    /// The school's issuer, for the `iss` of the client redirect.
    pub issuer: &'a str,
    pub request_id: &'a str,
    /// The browser's CSRF cookie value: a card's challenge is bound to it.
    pub browser: &'a str,
    /// The browser's device cookie (accounts that logged in on it before), when sent.
    pub device: Option<&'a str>,
    /// The browser's session cookie, when it has one: a completed login replaces that
    /// session (issue 17 #13: a step-up left the lower session alive for its 8 hours).
    pub previous_session: Option<&'a str>,
    pub origin: &'a Origin,
}

/// What the person sent to prove who they are.
pub enum Proof<'a> {
    Password {
        username: &'a str,
        password: &'a str,
    },
    /// The card's signature over a challenge; without a username the certificate names the
    /// account.
    Card {
        username: &'a str,
        challenge: &'a str,
        signature: CardSignature<'a>,
    },
}

impl Proof<'_> {
    pub fn factor(&self) -> Factor {
        match self {
            Self::Password { .. } => Factor::Password,
            Self::Card { .. } => Factor::Card,
        }
    }

    /// The account name the person typed.
    fn typed_account(&self) -> &str {
        match self {
            Self::Password { username, .. } | Self::Card { username, .. } => username,
        }
    }
}

/// A finished login: where to send the browser (the client's redirect URI with a fresh code),
/// the session's cookie value, and the device cookie's new value (this account marked as
/// known on this browser; absent when it could not be made, which costs only that mark).
#[derive(Debug)]
pub struct Finished {
    pub url: String,
    pub sid: String,
    pub device: Option<String>,
}

/// Where a login attempt that went through leads.
#[derive(Debug)]
pub enum Outcome {
    /// Logged in.
    Done(Finished),
    /// One factor proved; the policy needs another. The pending request keeps what was
    /// proved and waits for it.
    Next(Box<NextStep>),
    /// Every factor proved, but the password must be changed first (temporary or expired):
    /// the pending request waits at the change step, for this browser.
    ChangePassword(Box<NextStep>),
}

/// The factor a started login needs next, and why.
#[derive(Debug)]
pub struct NextStep {
    pub user: User,
    pub next: Factor,
    pub notice: Notice,
    pub request: AuthRequest,
}

/// A login attempt that did not go through.
#[derive(Debug)]
pub struct Refusal {
    pub error: Error,
    /// The pending request, when it exists: a page shows the refusal on it.
    pub request: Option<AuthRequest>,
}

/// A concluded attempt.
#[derive(Debug)]
pub struct Concluded {
    pub factor: Factor,
    /// `success`, or the stable code of the refusal: what the audit log recorded and the
    /// metrics count.
    pub outcome: &'static str,
    pub result: Result<Outcome, Refusal>,
}

/// How long a login whose commit's outcome is unknown waits for the one read that decides.
const READ_BACK_WAIT: Duration = Duration::from_secs(5);

impl Provider {
    /// Logs a person in at a pending request with `proof`.
    pub async fn log_in(&self, attempt: &Attempt<'_>, proof: Proof<'_>) -> Concluded {
        let factor = proof.factor();
        let request = match self
            .pending_request(attempt.school, attempt.request_id)
            .await
        {
            Ok(request) => request,
            // Nothing was tried against a request that is gone: not audited.
            Err(error) => {
                return Concluded {
                    factor,
                    outcome: error.code.as_str(),
                    result: Err(Refusal {
                        error,
                        request: None,
                    }),
                }
            }
        };
        let typed = bounded_account(proof.typed_account());
        let quiet = self.proof_is_quiet(attempt, &proof).await;
        let proved = self.check_proof(attempt, proof).await;
        // Without a username the card names the account: the audit names it too.
        let account = proved.as_ref().map_or(typed, |p| p.user.username.clone());
        let event = |outcome: &str| {
            let name = format!("login.{}", factor.name());
            let client = Some(request.client_id.as_str());
            audit_event(
                attempt.origin,
                attempt.school,
                &name,
                outcome,
                &account,
                client,
            )
        };
        let result = match proved {
            Ok(proved) => {
                let success = event("success");
                self.after_proof(attempt, &request, factor, proved, success)
                    .await
            }
            Err(e) => Err(e),
        };
        match &result {
            // An attempt refused before anything was checked (the address or the account
            // waits; a card's challenge we never gave this browser for this request, or gave
            // and took already) is counted in the metrics only: a flood of them must not fill
            // the audit log, and it proves nothing to record. Made-up challenges are not
            // counted against a school's campus addresses (a pupil must not make the school
            // wait), so nothing else would bound their events.
            Err(e) if matches!(e.code, Code::Throttled | Code::ChallengeInvalid) => {}
            // A card's challenge given past its address's budget: the address has asked for
            // more than any school needs in a window, and every failure of it would be an
            // event (on campus nothing else counts card attempts).
            Err(_) if quiet => {}
            // Audited alone, and shown as it is whether or not its audit could be written.
            Err(refused) => {
                let _ = self.record(event(refused.code.as_str())).await;
            }
            Ok(_) => {}
        }
        let outcome = result
            .as_ref()
            .map_or_else(|e| e.code.as_str(), |_| "success");
        let mut result = result;
        if let Ok(Outcome::Done(done)) = &mut result {
            let marked = self.device_cookie(attempt.school, &account, attempt.device);
            done.device = marked.await.ok();
        }
        Concluded {
            factor,
            outcome,
            result: result.map_err(|error| Refusal {
                error,
                request: Some(request),
            }),
        }
    }

    /// Checks the proof; the account it proves, with the school's policy as read for this
    /// step.
    /// Whether a failure of `proof` goes unaudited: a card's challenge given quiet.
    async fn proof_is_quiet(&self, attempt: &Attempt<'_>, proof: &Proof<'_>) -> bool {
        match proof {
            Proof::Password { .. } => false,
            Proof::Card { challenge, .. } => self
                .challenge_is_quiet(
                    attempt.school,
                    attempt.browser,
                    attempt.request_id,
                    challenge,
                )
                .await
                .unwrap_or(false),
        }
    }

    async fn check_proof(&self, attempt: &Attempt<'_>, proof: Proof<'_>) -> Result<Proved, Error> {
        let school = attempt.school;
        let ip = attempt.origin.ip.as_deref().unwrap_or_default();
        let (user, cert_sha256) = match proof {
            Proof::Password { username, password } => {
                let who = Attempter {
                    ip,
                    device: attempt.device,
                };
                let user = self
                    .check_password(school, username, password, &who)
                    .await?;
                (user, None)
            }
            Proof::Card {
                username,
                challenge,
                signature,
            } => {
                let (browser, request_id) = (attempt.browser, attempt.request_id);
                let card = &signature;
                let (user, cert) = self
                    .check_card(school, browser, request_id, username, challenge, card, ip)
                    .await?;
                (user, Some(cert))
            }
        };
        let policies = self.directory.login_policy(school.id).await?;
        Ok(Proved {
            user,
            policies,
            cert_sha256,
        })
    }

    /// The step after a good proof: whether the policy lets the account use this factor,
    /// then what it still needs, or the finished login; committed with `success`.
    async fn after_proof(
        &self,
        attempt: &Attempt<'_>,
        request: &AuthRequest,
        factor: Factor,
        proved: Proved,
        success: AuditEvent,
    ) -> Result<Outcome, Error> {
        // Checked only after the proof was right, so it tells a guesser nothing.
        if !policy::allows(&proved.policies, &proved.user.roles, factor) {
            return Err(Error::of(Code::LoginMethodNotAllowed(factor)));
        }
        match self.login_step(request, &proved, factor) {
            Step::Done(session) => {
                let school = attempt.school;
                if self
                    .password_change_due(school, &proved.user, &session)
                    .await?
                {
                    let browser = attempt.browser;
                    let waiting = self.change_waiting(request, &proved.user, &session, browser);
                    self.step_forward(attempt, &waiting, success).await?;
                    return Ok(Outcome::ChangePassword(Box::new(NextStep {
                        user: proved.user,
                        next: Factor::Password,
                        notice: Notice::PasswordMustChange,
                        request: waiting,
                    })));
                }
                let done = self
                    .finish_login(attempt, request, session, success)
                    .await?;
                Ok(Outcome::Done(done))
            }
            Step::Need { next, waiting } => {
                self.step_forward(attempt, &waiting, success).await?;
                Ok(Outcome::Next(Box::new(NextStep {
                    notice: step_notice(next, request),
                    user: proved.user,
                    next,
                    request: *waiting,
                })))
            }
            Step::Refused => Err(Error::of(Code::AcrUnreachable)),
        }
    }

    /// Keeps what was proved in the pending request, then commits the step's event; a step
    /// that cannot be audited does not happen (the request is removed: the login starts
    /// again).
    async fn step_forward(
        &self,
        attempt: &Attempt<'_>,
        waiting: &AuthRequest,
        success: AuditEvent,
    ) -> Result<(), Error> {
        let ttl = self.settings.authorize_request_ttl;
        let mut staged = Staged::new(self.ephemeral.as_ref());
        let written = match self.step_key(attempt.school, attempt.request_id).await {
            Ok(key) => staged.put_json(key, &waiting.partial, ttl).await,
            Err(e) => Err(e),
        };
        staged.commit(written, self.record(success)).await
    }

    /// Completes the pending request once, writes the browser's session and the code, and
    /// commits the session's record with the success event. The request is used up first,
    /// so a double submit cannot leave a second session behind.
    pub(super) async fn finish_login(
        &self,
        attempt: &Attempt<'_>,
        request: &AuthRequest,
        session: Session,
        success: AuditEvent,
    ) -> Result<Finished, Error> {
        let school = attempt.school;
        if self
            .take_auth_request(school, attempt.request_id)
            .await?
            .is_none()
        {
            return Err(Error::of(Code::LoginExpired));
        }
        let new = self.new_session(school, session, attempt.origin);
        let code = new_code(school, request, &new.session);
        let mut staged = Staged::new(self.ephemeral.as_ref());
        let written = async {
            let settings = &self.settings;
            staged
                .put_json(new.key.clone(), &new.session, settings.session_ttl)
                .await?;
            staged
                .put_json(code.key.clone(), &code.data, settings.code_ttl)
                .await
        }
        .await;
        let committed = self.commit_login(new.record, success);
        staged.commit(written, committed).await?;
        self.replace_previous_session(attempt).await;
        let url = client_redirect(attempt.issuer, request, Ok(&code.code));
        Ok(Finished {
            url,
            sid: new.sid,
            device: None,
        })
    }

    /// The commit point of a login: the session's record and the success event, in one
    /// transaction. When its outcome is unknown, what is stored decides.
    async fn commit_login(&self, record: SessionRecord, success: AuditEvent) -> Result<(), Error> {
        let (school_id, id) = (record.school_id, record.id.clone());
        let audit = Audit::event(success.clone());
        match self.directory.add_session(record, audit).await {
            Err(StoreError::Unavailable(lost)) => {
                self.read_back_login(school_id, &id, success, lost).await
            }
            committed => Ok(committed?),
        }
    }

    /// Whether a login whose commit went unanswered (the statement may have committed before
    /// the connection died) is stored: one read, bounded. Stored, it is a success (its log
    /// copy is written here: the store could not); not stored or unknown, the failure.
    async fn read_back_login(
        &self,
        school_id: i64,
        id: &str,
        success: AuditEvent,
        lost: String,
    ) -> Result<(), Error> {
        let read =
            tokio::time::timeout(READ_BACK_WAIT, self.directory.session_by_id(school_id, id)).await;
        if let Ok(Ok(Some(_))) = read {
            success.log();
            return Ok(());
        }
        Err(StoreError::Unavailable(lost).into())
    }
}

/// Why a login page asks for `next`: the client asked for the card's level (step-up), or the
/// school's policy needs two factors.
pub fn step_notice(next: Factor, request: &AuthRequest) -> Notice {
    match next {
        Factor::Card if request.required_level >= Factor::Card.level() => Notice::StepUpCard,
        Factor::Card => Notice::NeedCardToo,
        Factor::Password => Notice::NeedPasswordToo,
    }
}
