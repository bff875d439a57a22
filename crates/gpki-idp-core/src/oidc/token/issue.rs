//! Issuing a token response: access token, ID token (for `openid`), refresh token — in the
//! order that keeps a failed grant harmless.

use serde_json::{json, Value};

use super::access::access_key;
use super::grant::{Grant, RefreshPlan};
use crate::error::Error;
use crate::keys::Alg;
use crate::model::{Client, School};
use crate::oidc::Provider;

impl Provider {
    /// Issues access token, refresh token (when `plan` has one) and ID token; returns the
    /// response and the hash of its access token.
    ///
    /// Everything that can fail (the access token in the short-lived store, the ID token's
    /// signature) is done before the refresh token is committed: a grant that fails leaves
    /// the presented refresh token as it was, so the client's retry works.
    pub(super) async fn issue(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        grant: &Grant<'_>,
        plan: RefreshPlan<'_>,
    ) -> Result<(Value, String), Error> {
        let (access, access_hash) = self
            .new_access_token(
                school,
                client,
                Some(grant.user.id),
                grant.scope,
                plan.family(),
            )
            .await?;
        let mut response = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl.as_secs(),
            "scope": grant.scope,
        });
        if grant.scope.split(' ').any(|s| s == "openid") {
            let claims = self.id_token_claims(school, issuer, client, grant, &access);
            let alg = Alg::parse(&client.id_token_alg).unwrap_or(Alg::Rs256);
            response["id_token"] = json!(self.sign(school, alg, &claims).await?);
        }
        match self.store_refresh(school, client, grant, plan).await {
            Ok(Some(refresh)) => response["refresh_token"] = json!(refresh),
            Ok(None) => {}
            Err(e) => {
                // Nothing of this answer is delivered: its access token must not live on.
                let _ = self
                    .ephemeral
                    .delete(&access_key(school, &access_hash))
                    .await;
                return Err(e);
            }
        }
        Ok((response, access_hash))
    }
}
