//! An authorization request from a browser that may already be logged in: its session
//! answers the request at once, or counts toward a step-up (the page then asks only for what
//! is missing), or a fresh login decides.

use super::redirect::client_redirect;
use super::transaction::step_notice;
use crate::code::Notice;
use crate::error::Error;
use crate::factor::{Factor, FactorSet};
use crate::model::{School, User};
use crate::oidc::proved::Partial;
use crate::oidc::request::AuthRequest;
use crate::oidc::session::Session;
use crate::oidc::Provider;
use crate::policy::Next;

/// What an authorization request leads to, given the browser's session.
#[derive(Debug)]
pub enum Resume {
    /// The session answers the request: send the browser to this URL (a fresh code, or the
    /// reason there is none).
    Complete(String),
    /// The session's account must add `next`, for the reason `notice` gives; the request
    /// carries what the session proved.
    StepUp {
        user: User,
        next: Factor,
        notice: Notice,
    },
    /// No session that counts: the login page.
    Login,
    /// `prompt=none` and no session that answers the request.
    LoginRequired,
}

impl Provider {
    /// Decides how `request` goes on for a browser with `session` (if any). A step-up marks
    /// the request's `partial` with what the session proved.
    pub async fn resume(
        &self,
        school: &School,
        issuer: &str,
        request: &mut AuthRequest,
        session: Option<Session>,
    ) -> Result<Resume, Error> {
        let mut step_up = None;
        if let Some(session) = session.filter(|s| self.session_fits(request, s)) {
            match self.session_step(school, request, &session).await? {
                Some((_, Next::Complete)) => {
                    let code = self.issue_code(school, request, &session).await;
                    let url = client_redirect(issuer, request, code.as_deref());
                    return Ok(Resume::Complete(url));
                }
                Some((user, Next::Need(next))) => {
                    let cert = session.cert_sha256.clone();
                    step_up = Some((user, FactorSet::from_amr(&session.amr), next, cert))
                }
                // What the session proved is no longer allowed, or the account is gone: a
                // fresh login decides.
                Some((_, Next::Refused)) | None => {}
            }
        }
        let silent = request
            .prompt
            .as_deref()
            .is_some_and(|p| p.split(' ').any(|v| v == "none"));
        if silent {
            return Ok(Resume::LoginRequired);
        }
        let Some((user, factors, next, cert_sha256)) = step_up else {
            return Ok(Resume::Login);
        };
        request.partial = Some(Partial {
            user_id: user.id,
            factors,
            password_change: None,
            cert_sha256,
        });
        let notice = step_notice(next, request);
        Ok(Resume::StepUp { user, next, notice })
    }
}
