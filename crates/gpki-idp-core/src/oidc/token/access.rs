//! Access tokens: opaque random handles whose record ([`AccessData`]) lives in the
//! short-lived store for `access_token_ttl`, and what a bearer token shows (userinfo).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::{Client, School};
use crate::oidc::Provider;
use crate::{error::Error, random_token, token_hash};

/// What an access token stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessData {
    pub client_id: String,
    /// `None` for client_credentials tokens.
    pub user_id: Option<i64>,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    /// The refresh family it was issued with, so reuse of a code revokes both.
    pub family_id: Option<String>,
}

/// Where an access token's record is kept: under the hash of the token.
pub(super) fn access_key(school: &School, hash: &str) -> String {
    format!("at:{}:{hash}", school.id)
}

impl Provider {
    /// A new access token and the hash it is stored under.
    pub(super) async fn new_access_token(
        &self,
        school: &School,
        client: &Client,
        user: Option<i64>,
        scope: &str,
        family: Option<&str>,
    ) -> Result<(String, String), Error> {
        // The school's id in front lets the admin API find the token without a path.
        let token = format!("{}.{}", school.id, random_token(32));
        let hash = token_hash(&token);
        let now = crate::now();
        let ttl = self.settings.access_token_ttl;
        let data = AccessData {
            client_id: client.client_id.clone(),
            user_id: user,
            scope: scope.to_string(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
            family_id: family.map(str::to_string),
        };
        self.put_json(&access_key(school, &hash), &data, ttl)
            .await?;
        Ok((token, hash))
    }

    /// The access token's record, if it is live.
    pub async fn access_token(
        &self,
        school: &School,
        token: &str,
    ) -> Result<Option<AccessData>, Error> {
        let data: Option<AccessData> = self
            .get_json(&access_key(school, &token_hash(token)))
            .await?;
        Ok(data.filter(|d| d.exp >= crate::now()))
    }

    /// Userinfo claims for a bearer token.
    pub async fn userinfo(&self, school: &School, token: &str) -> Result<Value, Error> {
        let invalid = || Error::invalid_token("the access token is invalid or expired");
        let data = self
            .access_token(school, token)
            .await?
            .ok_or_else(invalid)?;
        let user = self
            .user(school, data.user_id.ok_or_else(invalid)?)
            .await
            .map_err(|_| invalid())?;
        Ok(
            json!({"sub": user.subject, "name": user.display_name, "preferred_username": user.username, "school": school.code, "roles": user.roles}),
        )
    }
}
