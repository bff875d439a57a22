//! A logged-in teacher's own sessions (登入中的裝置): where they are logged in (time, address,
//! browser, method, portals), and ending one of them or all. Each end is audited
//! (`session.end`, by the teacher) and the portals that got a token in it are told
//! (Back-Channel Logout), like every other end of a session.

use serde_json::json;

use super::event::audit_event;
use super::transaction::Attempt;
use crate::audit::{Audit, Origin};
use crate::error::Error;
use crate::model::{School, SessionRecord, User};
use crate::oidc::Provider;
use crate::token_hash;

/// Which of a teacher's sessions to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which<'a> {
    /// The session with this id (64 hexadecimal digits).
    One(&'a str),
    /// Every session of the account, this browser's included.
    All,
}

impl Provider {
    /// The account of `sid`, its live sessions, and the id of this browser's one.
    pub async fn own_sessions(
        &self,
        school: &School,
        sid: Option<&str>,
    ) -> Result<(User, Vec<SessionRecord>, String), Error> {
        let user = self.session_account(school, sid).await?;
        let current = sid.map(token_hash).unwrap_or_default();
        let mut all = vec![];
        let mut after = String::new();
        // A person has a handful of sessions; the bound keeps a runaway account's page small.
        while all.len() < 500 {
            let page = self
                .directory
                .list_sessions(school.id, Some(user.id), after.clone(), 100, crate::now())
                .await?;
            let done = page.len() < 100;
            after = page.last().map(|s| s.id.clone()).unwrap_or_default();
            all.extend(page);
            if done {
                break;
            }
        }
        all.sort_by_key(|s| std::cmp::Reverse(s.auth_time));
        Ok((user, all, current))
    }

    /// Ends one of the sessions of the account of `sid`, or all of them; how many ended.
    /// `not_found` when the account has no such live session.
    pub async fn end_own_sessions(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        which: Which<'_>,
    ) -> Result<usize, Error> {
        let user = self.session_account(school, sid).await?;
        let base = audit_event(
            origin,
            school,
            "session.end",
            "success",
            &user.username,
            None,
        );
        let event = move |s: &SessionRecord| {
            let mut e = base.clone();
            e.detail = json!({"session": s.id, "reason": "self", "clients": s.clients});
            e
        };
        match which {
            Which::One(id) => {
                let found = self.directory.session_by_id(school.id, id).await?;
                if !found.is_some_and(|s| s.user_id == user.id && !s.revoked) {
                    return Err(Error::not_found("no such session"));
                }
                let one = event.clone();
                let audit = Audit::of(move |s: &SessionRecord| one(s));
                self.revoke_session(school, id, audit).await?;
                Ok(1)
            }
            Which::All => {
                let audit = Audit::each(move |ended: &Vec<SessionRecord>| {
                    ended.iter().map(&event).collect()
                });
                let ended = self
                    .directory
                    .end_user_sessions(school.id, user.id, audit)
                    .await?;
                for s in &ended {
                    self.forget_session(school, &s.id).await?;
                }
                Ok(ended.len())
            }
        }
    }

    /// Ends the session the browser had before a login completed: the lower session of a
    /// step-up, or another account's on a shared staff-room PC. Its portals are told
    /// (Back-Channel Logout) and its refresh tokens end, as with every end of a session;
    /// audited `session.end`, reason `replaced`. The new login stands whatever happens here
    /// (it is committed): an end that cannot be written is logged, and the old session's
    /// own expiry still holds.
    pub(crate) async fn replace_previous_session(&self, attempt: &Attempt<'_>) {
        let Some(previous) = attempt.previous_session else {
            return;
        };
        let school = attempt.school;
        let base = audit_event(attempt.origin, school, "session.end", "success", "", None);
        let audit = Audit::of(move |s: &SessionRecord| {
            let mut e = base;
            e.actor = s.username.clone();
            e.subject_user = Some(s.username.clone());
            e.detail = json!({"session": s.id, "reason": "replaced", "clients": s.clients});
            e
        });
        let id = token_hash(previous);
        if let Err(e) = self.revoke_session(school, &id, audit).await {
            tracing::warn!(school = %school.code, code = e.code.as_str(), "the replaced session could not be ended");
        }
    }
}
