//! The refresh_token grant, with rotation and reuse detection: each use of a refresh token
//! swaps it for its successor; a rotated-out token that comes back ends the whole family —
//! unless it comes back within the grace window while its successor is unused (a client
//! whose answer was lost), which is answered with the same successor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::Value;

use super::grant::{check_min_acr, Grant, RefreshPlan};
use crate::model::{Client, RefreshRecord, School};
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
        let successor = successor_token(&record.family_id, token);
        if record.used && !self.successor_unclaimed(school, &successor).await? {
            return Err(self.refresh_reused(school, &record.family_id).await);
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
        let plan = if record.used {
            RefreshPlan::Again {
                family: &record.family_id,
                successor: &successor,
            }
        } else {
            RefreshPlan::Rotate {
                family: &record.family_id,
                old_hash: &old_hash,
                successor: &successor,
            }
        };
        Ok(self.issue(school, issuer, client, &grant, plan).await?.0)
    }

    /// Whether the successor of a used refresh token is within the reuse grace window and
    /// not used itself: then the answer that carried it may never have reached the client
    /// (a lost response, a failure after the commit), and presenting the old token again is
    /// a retry, answered with the same successor. Past the window, or once the successor was
    /// used, it is a replay.
    async fn successor_unclaimed(&self, school: &School, successor: &str) -> Result<bool, Error> {
        let grace = self.settings.refresh_reuse_grace.as_secs() as i64;
        let Some(next) = self
            .directory
            .refresh_by_hash(school.id, &token_hash(successor))
            .await?
        else {
            return Ok(false);
        };
        Ok(!next.used && !next.revoked && crate::now() - next.created_at <= grace)
    }

    /// A rotated-out refresh token came back: someone kept a copy. The whole family ends.
    async fn refresh_reused(&self, school: &School, family: &str) -> Error {
        if let Err(e) = self
            .directory
            .revoke_refresh_family(school.id, family)
            .await
        {
            return e.into();
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
            RefreshPlan::Again { successor, .. } => return Ok(Some(successor.to_string())),
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
        match plan {
            RefreshPlan::Rotate { old_hash, .. } => {
                let rotated = self
                    .directory
                    .rotate_refresh(school.id, old_hash, record)
                    .await?;
                // Another request with the same token committed first: the same successor
                // (it is derived from the token) is its answer too, within the grace window.
                if !rotated && !self.successor_unclaimed(school, &token).await? {
                    return Err(self.refresh_reused(school, family).await);
                }
            }
            _ => self.directory.insert_refresh(record).await?,
        }
        Ok(Some(token))
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
