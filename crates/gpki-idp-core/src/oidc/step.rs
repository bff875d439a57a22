//! What a login needs next: after the password or the card, or for a browser that is already
//! logged in, the school's policy for the account's roles and the level the client asks for
//! decide whether the login completes, needs the card (step-up) or the password too, or
//! cannot reach what is asked.

pub use super::proved::{Partial, Proved};
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
    /// This factor is needed too (step-up, or a role that needs two).
    Need(Factor),
    /// No method the policy allows reaches the level asked for.
    Refused,
}

impl Provider {
    /// After `user` proved `proved` for the pending request `request_id`: completes the login,
    /// or keeps what was proved and says what is still needed.
    pub async fn login_step(
        &self,
        school: &School,
        request_id: &str,
        request: &AuthRequest,
        who: &Proved,
        proved: Factor,
    ) -> Result<Step, Error> {
        let user = &who.user;
        let earlier = request
            .partial
            .as_ref()
            .filter(|p| p.user_id == user.id)
            .map_or(FactorSet::EMPTY, |p| p.factors);
        let done = earlier.with(proved);
        let methods = policy::allowed_methods(&who.policies, &user.roles);
        let next = policy::next_step(&methods, done, request.required_level);
        let keep = |factors| Partial {
            user_id: user.id,
            factors,
        };
        match next {
            Next::Complete => Ok(Step::Done(Session {
                id: String::new(),
                user_id: user.id,
                auth_time: crate::now(),
                acr: done.acr().to_string(),
                amr: done.amr(),
            })),
            Next::Need(factor) => {
                let mut waiting = request.clone();
                waiting.partial = Some(keep(done));
                self.update_auth_request(school, request_id, &waiting)
                    .await?;
                Ok(Step::Need(factor))
            }
            Next::Refused => Ok(Step::Refused),
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
