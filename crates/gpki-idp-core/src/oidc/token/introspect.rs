//! What a client may ask of a token after it was issued: introspection (RFC 7662) and
//! revocation (RFC 7009), for access and refresh tokens alike.

use serde_json::{json, Value};

use super::access::{access_key, AccessData};
use crate::model::{Client, School};
use crate::oidc::Provider;
use crate::{error::Error, token_hash};

/// The scope that lets a client (a resource server) introspect every token of its school.
pub const INTROSPECTION_SCOPE: &str = "introspection";

impl Provider {
    /// RFC 7662 introspection for an authenticated confidential client. A client sees its
    /// own tokens; a resource server granted [`INTROSPECTION_SCOPE`] sees every token of the
    /// school. Any other token is answered `active: false`, as an unknown one.
    pub async fn introspect(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        token: &str,
    ) -> Result<Value, Error> {
        let inactive = json!({"active": false});
        let may_see = |owner: &str| {
            owner == client.client_id
                || client
                    .allowed_scopes
                    .iter()
                    .any(|s| s == INTROSPECTION_SCOPE)
        };
        if let Some(at) = self.access_token(school, token).await? {
            if !may_see(&at.client_id) {
                return Ok(inactive);
            }
            let sub = match at.user_id {
                Some(id) => self
                    .directory
                    .user_by_id(school.id, id)
                    .await?
                    .map(|u| u.subject),
                None => Some(at.client_id.clone()),
            };
            return Ok(
                json!({"active": true, "token_type": "Bearer", "client_id": at.client_id, "scope": at.scope, "sub": sub, "exp": at.exp, "iat": at.iat, "iss": issuer}),
            );
        }
        if let Some(rt) = self
            .directory
            .refresh_by_hash(school.id, &token_hash(token))
            .await?
        {
            if !rt.used && !rt.revoked && rt.expires_at >= crate::now() && may_see(&rt.client_id) {
                let sub = self
                    .directory
                    .user_by_id(school.id, rt.user_id)
                    .await?
                    .map(|u| u.subject);
                return Ok(
                    json!({"active": true, "token_type": "refresh_token", "client_id": rt.client_id, "scope": rt.scope, "sub": sub, "exp": rt.expires_at, "iat": rt.created_at, "iss": issuer}),
                );
            }
        }
        Ok(inactive)
    }

    /// RFC 7009 revocation of a token of `client` (others' tokens are ignored silently).
    pub async fn revoke(&self, school: &School, client: &Client, token: &str) -> Result<(), Error> {
        let hash = token_hash(token);
        if let Some(at) = self
            .get_json::<AccessData>(&access_key(school, &hash))
            .await?
        {
            if at.client_id == client.client_id {
                self.ephemeral.delete(&access_key(school, &hash)).await?;
            }
            return Ok(());
        }
        if let Some(rt) = self.directory.refresh_by_hash(school.id, &hash).await? {
            if rt.client_id == client.client_id {
                self.directory
                    .revoke_refresh_family(school.id, &rt.family_id)
                    .await?;
            }
        }
        Ok(())
    }
}
