//! The refresh_token grant, with rotation and reuse detection: each use of a refresh token
//! swaps it for its successor; a rotated-out token that comes back ends the whole family —
//! unless the client authenticates at the token endpoint and the token comes back within
//! the client's grace window while its successor is unused (a client whose answer was
//! lost), which is answered with the same successor.
//!
//! Which of the two it is gets decided in the transaction that rotates, holding the family
//! (`Directory::rotate_refresh`): an owner and a thief presenting one token at once, on one
//! replica or two, cannot both pass a check made before either of them wrote.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::Value;

use super::grant::{check_min_acr, Grant, RefreshPlan};
use crate::audit::AuditEvent;
use crate::model::{Client, RefreshRecord, Rotation, School};
use crate::oidc::Provider;
use crate::{error::Error, random_token, token_hash};

impl Provider {
    pub(super) async fn refresh(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        token: &str,
        asked_scope: Option<&str>,
    ) -> Result<Value, Error> {
        let invalid = || Error::invalid_grant("refresh token is invalid, expired or revoked");
        let old_hash = token_hash(token);
        let record = self
            .directory
            .refresh_by_hash(school.id, &old_hash)
            .await?
            .ok_or_else(invalid)?;
        if record.client_id != client.client_id {
            return Err(invalid());
        }
        if record.revoked || record.expires_at < crate::now() {
            return Err(invalid());
        }
        let scope = narrowed_scope(&record.scope, asked_scope)?;
        if record.used && self.refresh_grace(client).is_none() {
            // Nothing can make a used token good again for this client: no token is made.
            self.directory
                .revoke_refresh_family(school.id, &record.family_id)
                .await?;
            return Err(self.refresh_reused(school, client, record.user_id).await);
        }
        check_min_acr(client, &record.acr)?;
        let user = self.user(school, record.user_id).await?;
        // Admin scopes follow the account's roles as they are now.
        let scope = self.entitled_scope(school, &user, &scope);
        let grant = Grant {
            user: &user,
            scope: &scope,
            nonce: None,
            auth_time: record.auth_time,
            acr: &record.acr,
            amr: &record.amr,
            session_id: record.session_id.as_deref(),
        };
        let successor = successor_token(&record.family_id, token);
        let plan = RefreshPlan::Rotate {
            family: &record.family_id,
            old_hash: &old_hash,
            successor: &successor,
        };
        Ok(self.issue(school, issuer, client, &grant, plan).await?.0)
    }

    /// The grace window of `client` in seconds, if it has one: only a client that
    /// authenticates at the token endpoint (for a public client a stolen refresh token is
    /// all a thief needs); its registration's setting, else the service's; 0 is none.
    pub(crate) fn refresh_grace(&self, client: &Client) -> Option<i64> {
        if client.public_client {
            return None;
        }
        let default = self.settings.refresh_reuse_grace.as_secs() as i64;
        Some(client.refresh_reuse_grace_secs.unwrap_or(default)).filter(|s| *s > 0)
    }

    /// A rotated-out refresh token came back and its family has been revoked: someone kept
    /// a copy. Audited; a revoked family's tokens are refused before this, so only
    /// presentations racing the revocation add more than one event. The refusal stands even
    /// when the audit cannot be written.
    async fn refresh_reused(&self, school: &School, client: &Client, user_id: i64) -> Error {
        let actor = client.client_id.as_str();
        let mut event = AuditEvent::new(school.id, "token.refresh_reuse", "family_revoked", actor);
        event.client_id = Some(actor.to_string());
        if let Ok(Some(user)) = self.directory.user_by_id(school.id, user_id).await {
            event.subject_user = Some(user.username);
        }
        if let Err(e) = self.record(event).await {
            tracing::error!("type" = "error", source = "audit", detail = %e.description);
        }
        Error::invalid_grant("refresh token reuse detected; the session is revoked")
    }

    /// Stores the refresh token of `plan` (a new family, or the rotation of a used one in
    /// the same transaction); returns it.
    pub(super) async fn store_refresh(
        &self,
        school: &School,
        client: &Client,
        grant: &Grant<'_>,
        plan: RefreshPlan<'_>,
    ) -> Result<Option<String>, Error> {
        let (family, token) = match plan {
            RefreshPlan::None => return Ok(None),
            RefreshPlan::New(family) => (family, random_token(32)),
            RefreshPlan::Rotate {
                family, successor, ..
            } => (family, successor.to_string()),
        };
        let now = crate::now();
        let record = RefreshRecord {
            token_hash: token_hash(&token),
            family_id: family.to_string(),
            school_id: school.id,
            client_id: client.client_id.clone(),
            user_id: grant.user.id,
            scope: grant.scope.to_string(),
            auth_time: grant.auth_time,
            acr: grant.acr.to_string(),
            amr: grant.amr.to_vec(),
            created_at: now,
            expires_at: now + self.settings.refresh_token_ttl.as_secs() as i64,
            used: false,
            revoked: false,
            session_id: grant.session_id.map(str::to_string),
        };
        let RefreshPlan::Rotate { old_hash, .. } = plan else {
            self.directory.insert_refresh(record).await?;
            return Ok(Some(token));
        };
        let grace_since = self.refresh_grace(client).map(|g| now - g);
        match self
            .directory
            .rotate_refresh(school.id, old_hash, record, grace_since)
            .await?
        {
            // A retry gets the very token the lost answer carried: it is derived from the
            // presented one.
            Rotation::Rotated | Rotation::Again => Ok(Some(token)),
            Rotation::Replayed => Err(self.refresh_reused(school, client, grant.user.id).await),
        }
    }
}

/// The scope of a refreshed grant: the one asked for, if the original grant holds all of it.
fn narrowed_scope(granted: &str, asked: Option<&str>) -> Result<String, Error> {
    match asked {
        Some(asked) if asked.split(' ').all(|s| granted.split(' ').any(|g| g == s)) => {
            Ok(asked.to_string())
        }
        Some(_) => Err(Error::invalid_scope("scope exceeds the original grant")),
        None => Ok(granted.to_string()),
    }
}

/// The refresh token that succeeds `token` in its family. Derived rather than random, so
/// that a retried rotation gets the very token the lost answer carried; the family id is a
/// server-side secret (never sent to clients), so whoever holds `token` alone cannot work
/// out its successor.
fn successor_token(family: &str, token: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"gpki-idp refresh successor\0");
    ctx.update(family.as_bytes());
    ctx.update(b"\0");
    ctx.update(token.as_bytes());
    B64URL.encode(ctx.finish().as_ref())
}
