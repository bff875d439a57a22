//! One login attempt at a pending authorization request, concluded: after the proof (a
//! password or a card) was checked, the school's policy decides the next step; a finished
//! login uses the request up, starts the session and issues the code; and the audit event
//! records what the browser is about to get. The event is written last, once nothing else can
//! fail, and a login that cannot be audited does not happen (its session is ended, its code
//! never leaves).

use super::event::audit_event;
use super::redirect::client_redirect;
use crate::audit::Origin;
use crate::model::{School, User};
use crate::oidc::authorize::AuthRequest;
use crate::oidc::card::CardError;
use crate::oidc::session::{LoginError, Session};
use crate::oidc::step::{Proved, Step};
use crate::oidc::Provider;
use crate::policy::{Factors, Method};
use crate::OAuthError;

/// A login attempt at one pending authorization request.
pub struct Attempt<'a> {
    pub school: &'a School,
    /// The school's issuer, for the `iss` of the client redirect.
    pub issuer: &'a str,
    pub request_id: &'a str,
    pub request: &'a AuthRequest,
    pub origin: &'a Origin,
}

/// A proof that failed: its stable code (for the audit log and the metrics), and how the
/// method says "this pending request was used already".
pub trait Refusal: Sized {
    fn code(&self) -> &'static str;
    /// The refusal of a second submit of a request that already completed.
    fn request_used() -> Self;
}

impl Refusal for LoginError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid_credentials",
            Self::Throttled(_) => "throttled",
            Self::NotAllowed => "method_not_allowed",
            Self::Store(e) => e.code,
        }
    }

    fn request_used() -> Self {
        Self::Store(OAuthError::invalid_request(
            "the login request was already used",
        ))
    }
}

impl Refusal for CardError {
    fn code(&self) -> &'static str {
        CardError::code(self)
    }

    fn request_used() -> Self {
        Self::Challenge
    }
}

/// A finished login: where to send the browser (the client's redirect URI with a fresh code)
/// and the session's cookie value.
#[derive(Debug)]
pub struct Finished {
    pub url: String,
    pub sid: String,
}

/// Where a login attempt that went through leads.
#[derive(Debug)]
pub enum Outcome {
    /// Logged in.
    Done(Finished),
    /// One factor proved; the policy needs `next` too. The pending request keeps what was
    /// proved and waits for it.
    Next { user: User, next: Method },
    /// No method the policy allows this account reaches the level the client asks for.
    Refused,
}

/// Why a login attempt did not go through.
#[derive(Debug)]
pub enum Failure<E> {
    /// The proof was refused (or the request already used): shown to the user as it is.
    Proof(E),
    /// Storage failed, or a step forward could not be audited: nothing happened.
    Unavailable(OAuthError),
}

/// A concluded attempt: the outcome code the audit log recorded (and the metrics count), and
/// what to answer.
#[derive(Debug)]
pub struct Concluded<E> {
    pub code: &'static str,
    pub result: Result<Outcome, Failure<E>>,
}

impl Provider {
    /// Concludes a login attempt whose proof by `method` was checked (`proof`); `account` is
    /// the name the user typed (the card may name the account instead).
    pub async fn conclude_login<E: Refusal>(
        &self,
        attempt: &Attempt<'_>,
        method: Method,
        account: &str,
        proof: Result<Proved, E>,
    ) -> Concluded<E> {
        // Without a username the card names the account: the audit names it too.
        let account = match &proof {
            Ok(proved) => proved.user.username.clone(),
            Err(_) => account.to_string(),
        };
        let (code, result) = match proof {
            Ok(proved) => self.after_proof(attempt, method, proved).await,
            Err(e) => (e.code(), Err(Failure::Proof(e))),
        };
        let event = audit_event(
            attempt.origin,
            attempt.school,
            &format!("login.{}", method.name()),
            code,
            &account,
            Some(&attempt.request.client_id),
        );
        let audited = self.record(event).await;
        let result = match (result, audited) {
            (result, Ok(())) => result,
            (Ok(Outcome::Done(done)), Err(e)) => {
                let _ = self.end_session(attempt.school, &done.sid).await;
                Err(Failure::Unavailable(e))
            }
            // A step forward must not go on unaudited; a refusal is shown as it is.
            (Ok(Outcome::Next { .. }), Err(e)) => Err(Failure::Unavailable(e)),
            (refused, Err(_)) => refused,
        };
        Concluded { code, result }
    }

    /// The step after a good proof, with its outcome code.
    async fn after_proof<E: Refusal>(
        &self,
        attempt: &Attempt<'_>,
        method: Method,
        proved: Proved,
    ) -> (&'static str, Result<Outcome, Failure<E>>) {
        let factors = match method {
            Method::Certificate => Factors::CARD,
            _ => Factors::PASSWORD,
        };
        let step = self
            .login_step(
                attempt.school,
                attempt.request_id,
                attempt.request,
                &proved,
                factors,
            )
            .await;
        let user = proved.user;
        match step {
            Ok(Step::Done(session)) => match self.finish_login(attempt, session).await {
                Ok(Some(done)) => ("success", Ok(Outcome::Done(done))),
                Ok(None) => {
                    let e = E::request_used();
                    (e.code(), Err(Failure::Proof(e)))
                }
                Err(e) => (e.code, Err(Failure::Unavailable(e))),
            },
            Ok(Step::NeedCard) => (
                "success",
                Ok(Outcome::Next {
                    user,
                    next: Method::Certificate,
                }),
            ),
            Ok(Step::NeedPassword) => (
                "success",
                Ok(Outcome::Next {
                    user,
                    next: Method::Password,
                }),
            ),
            Ok(Step::Refused) => ("acr_unreachable", Ok(Outcome::Refused)),
            Err(e) => (e.code, Err(Failure::Unavailable(e))),
        }
    }

    /// Completes the pending request once, starts the browser session and issues the code;
    /// `None` when the request was already used. The request is used up first, so a double
    /// submit cannot leave a second session behind.
    async fn finish_login(
        &self,
        attempt: &Attempt<'_>,
        session: Session,
    ) -> Result<Option<Finished>, OAuthError> {
        let school = attempt.school;
        if self
            .take_auth_request(school, attempt.request_id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let (sid, session) = self.create_session(school, session).await?;
        match self.issue_code(school, attempt.request, &session).await {
            Ok(code) => {
                let url = client_redirect(attempt.issuer, attempt.request, Ok(&code));
                Ok(Some(Finished { url, sid }))
            }
            Err(e) => {
                let _ = self.end_session(school, &sid).await;
                Err(e)
            }
        }
    }
}
