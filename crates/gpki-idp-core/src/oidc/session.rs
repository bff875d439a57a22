//! Logging a person in with a password (throttled), and the browser session a completed
//! login starts.

use serde::{Deserialize, Serialize};

use super::request::AuthRequest;
use super::throttle::Attempter;
use super::Provider;
use crate::audit::{Audit, AuditEvent, Origin};
use crate::code::Code;
use crate::error::Error;
use crate::model::{School, SessionRecord, User};
use crate::{password, random_token, token_hash};

/// A session about to start ([`Provider::new_session`]).
pub(crate) struct NewSession {
    /// The cookie value.
    pub sid: String,
    /// Where the short-lived store keeps `session`.
    pub key: String,
    pub session: Session,
    pub record: SessionRecord,
}

/// Where the short-lived store keeps a session: under the hash of its cookie.
fn session_key(school: &School, id: &str) -> String {
    format!("sess:{}:{id}", school.id)
}

/// The public id of a session, the `sid` of its ID tokens and logout tokens (Back-Channel
/// Logout 1.0 §2.1): derived one way from the session's id, so it names the session to a
/// portal without being anything a browser or an admin could present.
pub fn public_sid(session_id: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let input = format!("gpki-idp sid\0{session_id}");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes());
    B64URL.encode(&digest.as_ref()[..18])
}

/// A browser's login at one school.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the session cookie (hex): how admins list and end it. Empty until stored.
    #[serde(default)]
    pub id: String,
    pub user_id: i64,
    pub auth_time: i64,
    pub acr: String,
    /// RFC 8176 methods: `pwd`; `sc`, `hwk`, `pin` for the card.
    pub amr: Vec<String>,
    /// SHA-256 (hex) of the certificate that opened or stepped up the session.
    #[serde(default)]
    pub cert_sha256: Option<String>,
}

impl Provider {
    /// Checks an account's password. The attempt is counted before the check and given
    /// back when the password is right (see [`super::throttle`]): failures make later
    /// attempts wait, successes cost nothing, so a school behind one address is never slowed
    /// by its own teachers logging in. An unknown account and a wrong password are one
    /// answer, at one cost.
    pub(crate) async fn check_password(
        &self,
        school: &School,
        username: &str,
        pw: &str,
        who: &Attempter<'_>,
    ) -> Result<User, Error> {
        let reserved = self.reserve_password_attempt(school, username, who).await?;
        let user = self.directory.user_by_username(school.id, username).await?;
        let usable = user.filter(|u| !u.disabled);
        // One argon2 verification on every path, so timing does not tell accounts apart; on
        // the password pool, never on an async worker.
        let stored = usable.as_ref().and_then(|u| u.password_hash.clone());
        let verified = if reserved.known_browser {
            password::verify_pooled_known(stored, pw.to_string()).await
        } else {
            password::verify_pooled(stored, pw.to_string()).await
        };
        let ok = match verified {
            Ok(ok) => ok,
            Err(e) => {
                // Not checked (the pool is full): not a failure of this account either.
                self.attempt_undecided(reserved).await?;
                return Err(e);
            }
        };
        match usable.filter(|_| ok) {
            Some(user) => {
                self.attempt_was_right(reserved).await?;
                Ok(user)
            }
            None => Err(Error::of(Code::InvalidCredentials)),
        }
    }

    /// A browser session about to start: its cookie value, where the short-lived store keeps
    /// it, and its record in the directory (which admins list and end). The login that starts
    /// it writes both ([`crate::login`]).
    pub(crate) fn new_session(
        &self,
        school: &School,
        mut session: Session,
        origin: &Origin,
    ) -> NewSession {
        let sid = random_token(32);
        session.id = token_hash(&sid);
        let ttl = self.settings.session_ttl;
        let record = SessionRecord {
            id: session.id.clone(),
            school_id: school.id,
            user_id: session.user_id,
            username: String::new(),
            acr: session.acr.clone(),
            amr: session.amr.clone(),
            auth_time: session.auth_time,
            expires_at: crate::now() + ttl.as_secs() as i64,
            revoked: false,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            cert_sha256: session.cert_sha256.clone(),
            clients: vec![],
        };
        NewSession {
            key: session_key(school, &session.id),
            sid,
            session,
            record,
        }
    }

    /// Ends a session by its id, with the audit `audit` makes of it: gone from the
    /// short-lived store, marked revoked, and the refresh tokens issued in it revoked.
    /// `None` when there is no such session.
    pub async fn revoke_session(
        &self,
        school: &School,
        id: &str,
        audit: Audit<SessionRecord>,
    ) -> Result<Option<SessionRecord>, Error> {
        // Access ends first: an end that cannot be recorded still ends the session (failing
        // safe), and the record can be ended again.
        self.ephemeral.delete(&session_key(school, id)).await?;
        Ok(self.directory.revoke_session(school.id, id, audit).await?)
    }

    /// The live session of the cookie `sid`. The short-lived store holds it, the directory
    /// says whether it still lives: a session ended by a change on another replica (the
    /// account disabled, its card unbound) is gone here too.
    /// Drops the session `id` from the short-lived store (its record was ended).
    pub(crate) async fn forget_session(&self, school: &School, id: &str) -> Result<(), Error> {
        Ok(self.ephemeral.delete(&session_key(school, id)).await?)
    }

    pub async fn session(&self, school: &School, sid: &str) -> Result<Option<Session>, Error> {
        let key = session_key(school, &token_hash(sid));
        let Some(session) = self.get_json::<Session>(&key).await? else {
            return Ok(None);
        };
        let record = self.directory.session_by_id(school.id, &session.id).await?;
        if record.is_some_and(|r| !r.revoked) {
            return Ok(Some(session));
        }
        self.ephemeral.delete(&key).await?;
        Ok(None)
    }

    /// A person's own logout: the session of the cookie `sid` ends, audited as `logout`.
    pub async fn end_session(&self, school: &School, sid: &str) -> Result<(), Error> {
        let audit = Audit::of(|ended: &SessionRecord| {
            let name = &ended.username;
            let mut event = AuditEvent::new(ended.school_id, "logout", "success", name);
            event.subject_user = Some(name.clone());
            event
        });
        self.revoke_session(school, &token_hash(sid), audit).await?;
        Ok(())
    }

    /// Whether a session satisfies the request's `max_age` and `prompt`.
    pub fn session_fits(&self, request: &AuthRequest, session: &Session) -> bool {
        // max_age=0 always asks again, even for a login of this very second (OIDC Core
        // 3.1.2.1 errata: like prompt=login); whole seconds would let `0 <= 0` through.
        let fresh = request
            .max_age
            .is_none_or(|max| max > 0 && crate::now() - session.auth_time <= max);
        let forced = request
            .prompt
            .as_deref()
            .is_some_and(|p| p.split(' ').any(|v| v == "login"));
        fresh && !forced
    }
}
