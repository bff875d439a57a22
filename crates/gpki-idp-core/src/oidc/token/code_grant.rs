//! The authorization_code grant: a code exchanged once, by the client it was issued to, with
//! the same redirect URI and the PKCE verifier of its challenge. A code presented twice
//! revokes what its first exchange issued (RFC 6749 §4.1.2).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access::access_key;
use super::grant::{check_min_acr, Grant, RefreshPlan};
use crate::model::{Client, School};
use crate::oidc::authorize::pkce_matches;
use crate::oidc::code::{code_key, CodeData};
use crate::oidc::Provider;
use crate::{error::Error, random_token, token_hash};

/// Marker left when a code is exchanged: a second exchange revokes what the first issued.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CodeUsed {
    access_hash: String,
    family_id: Option<String>,
}

/// How long the marker of an exchanged code is kept.
const CODE_USED_TTL: Duration = Duration::from_secs(600);

fn used_key(school: &School, hash: &str) -> String {
    format!("codeused:{}:{hash}", school.id)
}

impl Provider {
    pub(super) async fn exchange_code(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Value, Error> {
        let hash = token_hash(code);
        let Some(data) = self.take_json::<CodeData>(&code_key(school, &hash)).await? else {
            self.revoke_after_code_reuse(school, &hash).await?;
            return Err(Error::invalid_grant(
                "code is invalid, expired or already used",
            ));
        };
        if data.client_id != client.client_id {
            return Err(Error::invalid_grant("code was issued to another client"));
        }
        if redirect_uri != Some(data.redirect_uri.as_str()) {
            return Err(Error::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        check_pkce(data.code_challenge.as_deref(), verifier)?;
        check_min_acr(client, &data.acr)?;
        let user = self.user(school, data.user_id).await?;
        if let Some(session) = &data.session_id {
            // The client is told when the session ends (Back-Channel Logout); a session that
            // ended meanwhile gives no tokens.
            let live = self
                .directory
                .add_session_client(school.id, session, &client.client_id)
                .await?;
            if !live {
                return Err(Error::invalid_grant("the login session has ended"));
            }
        }
        let scope = self.entitled_scope(school, &user, &data.scope);
        let family = client
            .grant_types
            .iter()
            .any(|g| g == "refresh_token")
            .then(|| random_token(16));
        let grant = Grant {
            user: &user,
            scope: &scope,
            nonce: data.nonce.as_deref(),
            auth_time: data.auth_time,
            acr: &data.acr,
            amr: &data.amr,
            session_id: data.session_id.as_deref(),
        };
        let (response, access_hash) = self
            .issue(
                school,
                issuer,
                client,
                &grant,
                RefreshPlan::from(family.as_deref()),
            )
            .await?;
        let used = CodeUsed {
            access_hash,
            family_id: family,
        };
        self.put_json(&used_key(school, &hash), &used, CODE_USED_TTL)
            .await?;
        Ok(response)
    }

    /// A code presented twice: what it issued is revoked (RFC 6749 §4.1.2).
    async fn revoke_after_code_reuse(&self, school: &School, hash: &str) -> Result<(), Error> {
        if let Some(used) = self.take_json::<CodeUsed>(&used_key(school, hash)).await? {
            self.ephemeral
                .delete(&access_key(school, &used.access_hash))
                .await?;
            if let Some(family) = used.family_id {
                self.directory
                    .revoke_refresh_family(school.id, &family)
                    .await?;
            }
        }
        Ok(())
    }
}

/// A code issued with a challenge needs its verifier; one issued without takes none.
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), Error> {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => Ok(()),
        (Some(_), _) => Err(Error::invalid_grant("PKCE verification failed")),
        (None, Some(_)) => Err(Error::invalid_grant(
            "code_verifier without a code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
