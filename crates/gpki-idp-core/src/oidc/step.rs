//! What a login needs next: after the password or the card, or for a browser that is already
//! logged in, the school's policy for the account's roles and the level the client asks for
//! decide whether the login completes, needs the card (step-up) or the password too, or
//! cannot reach what is asked.

use super::proved::{Partial, Proved};
use super::request::AuthRequest;
use super::session::Session;
use super::Provider;
use crate::error::Error;
use crate::factor::{Factor, FactorSet};
use crate::model::{School, User};
use crate::policy::{self, Next};

/// What a login step leads to.
#[derive(Debug)]
pub enum Step {
    /// Logged in: start this session.
    Done(Session),
    /// This factor is needed too (step-up, or a role that needs two); the pending request
    /// keeps what was proved as `waiting` (the login writes it).
    Need {
        next: Factor,
        waiting: Box<AuthRequest>,
    },
    /// No method the policy allows reaches the level asked for.
    Refused,
}

impl Provider {
    /// After `who` proved `proved` for the pending request `request`: the login completes,
    /// or the request keeps what was proved and waits for what is still needed. Decides
    /// only; the login transaction writes.
    pub fn login_step(&self, request: &AuthRequest, who: &Proved, proved: Factor) -> Step {
        let user = &who.user;
        let partial = request.partial.as_ref().filter(|p| p.user_id == user.id);
        let earlier = partial.map_or(FactorSet::EMPTY, |p| p.factors);
        // The card of this step, else the one of an earlier step: unbinding it ends the
        // session.
        let cert_sha256 = who
            .cert_sha256
            .clone()
            .or_else(|| partial.and_then(|p| p.cert_sha256.clone()));
        let done = earlier.with(proved);
        let methods = policy::allowed_methods(&who.policies, &user.roles);
        match policy::next_step(&methods, done, request.required_level) {
            Next::Complete => Step::Done(Session {
                id: String::new(),
                user_id: user.id,
                auth_time: crate::now(),
                acr: done.acr().to_string(),
                amr: done.amr(),
                cert_sha256,
            }),
            Next::Need(next) => {
                let mut waiting = request.clone();
                waiting.partial = Some(Partial {
                    user_id: user.id,
                    factors: done,
                    password_change: None,
                    cert_sha256,
                });
                Step::Need {
                    next,
                    waiting: Box::new(waiting),
                }
            }
            Next::Refused => Step::Refused,
        }
    }

    /// For a browser already logged in: whether its session satisfies the request under the
    /// policy in force now, or what it must add. `None` when the account is gone or disabled.
    pub async fn session_step(
        &self,
        school: &School,
        request: &AuthRequest,
        session: &Session,
    ) -> Result<Option<(User, Next)>, Error> {
        let user = match self
            .directory
            .user_by_id(school.id, session.user_id)
            .await?
        {
            Some(u) if !u.disabled => u,
            _ => return Ok(None),
        };
        let done = FactorSet::from_amr(&session.amr);
        let next = self
            .next_for(school, &user, done, request.required_level)
            .await?;
        Ok(Some((user, next)))
    }

    async fn next_for(
        &self,
        school: &School,
        user: &User,
        done: FactorSet,
        required: u8,
    ) -> Result<Next, Error> {
        let policies = self.directory.login_policy(school.id).await?;
        let methods = policy::allowed_methods(&policies, &user.roles);
        Ok(policy::next_step(&methods, done, required))
    }
}
