//! OpenID Connect Back-Channel Logout 1.0: the logout tokens queued when a session ends, signed
//! here when they are sent. Every end of a session is a directory write that, in its own
//! transaction, marks the sessions revoked, revokes the refresh tokens issued in them and
//! queues one message per client that got a token in a live one and has a
//! `backchannel_logout_uri`: `revoke_session` (a logout, the teacher or an admin ending one),
//! `end_user_sessions` (the teacher ending all), `update_user` and `import_users` disabling
//! an account (all its sessions and refresh tokens), `remove_binding(_by_id)` (the sessions
//! opened or stepped up with that certificate); the last three add a `session.end` event per
//! session by the change's actor. A token is signed when it is sent (fresh `iat`/`exp`, not
//! expired by its retries), and each delivery is sent, tried again later with a doubling
//! wait, or given up once `logout_retry_for` has passed, audited (`logout.token_sent`,
//! `logout.token_given_up`). The server's sender posts them ([`Delivery`]); a teacher's
//! logout never waits for a portal.

use std::time::Duration;

use serde_json::{json, Value};

use super::session::public_sid;
use super::Provider;
use crate::audit::{Audit, AuditEvent};
use crate::error::Error;
use crate::keys::Alg;
use crate::model::LogoutMessage;

/// The event type of a logout token (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid once signed: long enough for a slow portal to check it.
const TOKEN_TTL_SECS: i64 = 120;

/// A queued logout token to post to `uri` as `logout_token=…`.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub message: LogoutMessage,
    /// The signed token; `None` when it cannot be made any more (the school or the client is
    /// gone): the message is given up.
    pub token: Option<String>,
}

/// What became of one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    /// Failed; tried again at this time (Unix seconds).
    Retry(i64),
    GivenUp,
}

/// The wait after the `attempts`-th failure: `first`, doubling, at most `max`.
pub fn retry_wait(attempts: i64, first: Duration, max: Duration) -> Duration {
    let doublings = attempts.clamp(0, 20) as u32;
    first.saturating_mul(1u32 << doublings).min(max)
}

impl Provider {
    /// Claims up to `limit` due logout tokens for `lease` (one sender per message across
    /// replicas) and signs them; `issuer` gives a school's issuer from its code.
    pub async fn claim_logout_tokens(
        &self,
        limit: i64,
        lease: Duration,
        issuer: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Vec<Delivery>, Error> {
        let now = crate::now();
        let until = now + lease.as_secs() as i64;
        let claimed = self.directory.claim_logouts(until, limit).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for message in claimed {
            let token = self.logout_token(&message, issuer).await?;
            out.push(Delivery { message, token });
        }
        Ok(out)
    }

    /// The signed logout token of a message (§2.4): `iss`, `aud`, `iat`, `exp`, `jti`,
    /// `events`, `sub` and `sid`, never a `nonce`; `typ` `logout+jwt`, signed as the client's
    /// ID tokens are.
    async fn logout_token(
        &self,
        m: &LogoutMessage,
        issuer: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Option<String>, Error> {
        let Some(school) = self.directory.school_by_id(m.school_id).await? else {
            return Ok(None);
        };
        let Some(client) = self.client(m.school_id, &m.client_id).await? else {
            return Ok(None);
        };
        let claims = logout_claims(&issuer(&school.code), m, crate::now());
        let alg = Alg::parse(&client.id_token_alg).unwrap_or(Alg::Rs256);
        let token = self
            .sign_as(&school, alg, &claims, Some("logout+jwt"))
            .await?;
        Ok(Some(token))
    }

    /// How many logout tokens wait, and since when the oldest (for the metrics).
    pub async fn logout_queue(&self) -> Result<crate::model::LogoutQueue, Error> {
        Ok(self.directory.logout_queue().await?)
    }

    /// Records what became of a delivery: removed with `logout.token_sent`, put back for a
    /// later attempt, or removed with `logout.token_given_up` once it was tried for
    /// `logout_retry_for` (or cannot be made).
    pub async fn logout_delivery_done(
        &self,
        d: &Delivery,
        outcome: Result<(), String>,
    ) -> Result<Delivered, Error> {
        let m = &d.message;
        let now = crate::now();
        let give_up_at = m.created_at + self.settings.logout_retry_for.as_secs() as i64;
        let (event, result) = match (&outcome, &d.token) {
            (Ok(()), Some(_)) => ("logout.token_sent", Delivered::Sent),
            (Err(e), Some(_)) if now < give_up_at => {
                let s = &self.settings;
                let wait = retry_wait(
                    m.attempts,
                    s.logout_first_retry,
                    s.logout_max_retry_interval,
                );
                let at = now + wait.as_secs().max(1) as i64;
                let error: String = e.chars().take(200).collect();
                self.directory.retry_logout_message(m.id, at, error).await?;
                return Ok(Delivered::Retry(at));
            }
            _ => ("logout.token_given_up", Delivered::GivenUp),
        };
        let mut e = AuditEvent::new(m.school_id, event, "success", "system");
        e.client_id = Some(m.client_id.clone());
        e.detail = json!({
            "sid": public_sid(&m.session_id),
            "uri": m.uri,
            "attempts": m.attempts + 1,
            "error": outcome.err(),
        });
        self.directory
            .finish_logout_message(m.id, Audit::event(e))
            .await?;
        Ok(result)
    }
}

/// The claims of a logout token for `m`, issued at `now`.
pub fn logout_claims(issuer: &str, m: &LogoutMessage, now: i64) -> Value {
    json!({
        "iss": issuer,
        "aud": m.client_id,
        "iat": now,
        "exp": now + TOKEN_TTL_SECS,
        "jti": crate::random_token(16),
        "sub": m.subject,
        "sid": public_sid(&m.session_id),
        "events": { LOGOUT_EVENT: {} },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let (first, max) = (Duration::from_secs(10), Duration::from_secs(600));
        let waits: Vec<u64> = (0..8)
            .map(|a| retry_wait(a, first, max).as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600]);
    }

    #[test]
    fn a_logout_token_has_what_the_spec_asks_and_no_nonce() {
        let m = LogoutMessage {
            id: 1,
            school_id: 1,
            client_id: "portal".into(),
            uri: "https://p.example/bc".into(),
            session_id: "ab".repeat(32),
            subject: "sub-1".into(),
            created_at: 0,
            attempts: 0,
        };
        let c = logout_claims("https://idp/schools/x", &m, 100);
        assert_eq!(c["aud"], "portal");
        assert_eq!(c["sub"], "sub-1");
        assert_eq!(c["exp"], 220);
        assert_eq!(c["sid"], json!(public_sid(&"ab".repeat(32))));
        assert_ne!(c["sid"], json!("ab".repeat(32)));
        assert!(c["events"][LOGOUT_EVENT].is_object());
        assert!(c.get("nonce").is_none());
        assert!(c["jti"].as_str().unwrap().len() >= 16);
    }
}
