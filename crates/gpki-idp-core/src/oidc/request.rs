//! The pending authorization request: validated at `/authorize`, kept in the short-lived
//! store while the person logs in, and ended when the login completes.

use serde::{Deserialize, Serialize};

use super::proved::Partial;
use super::Provider;
use crate::code::Code;
use crate::error::Error;
use crate::model::School;
use crate::random_token;

/// A validated authorization request, kept while the user logs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    pub acr_values: Vec<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// The acr level the login must reach: the client's minimum, or what the request asks
    /// for (acr_values, the `claims` parameter, or the client's default acr values).
    #[serde(default)]
    pub required_level: u8,
    /// A step already done (the password before the card, or the session being stepped up).
    #[serde(default)]
    pub partial: Option<Partial>,
}

impl Provider {
    /// Keeps a validated authorization request while the user logs in; returns its id.
    /// Pending requests are bounded in bytes, per client address and in all, over each
    /// `authorize_request_ttl`: a flood of requests from nobody cannot fill memory (ours or
    /// Redis's), and one address cannot spend the whole budget.
    pub async fn save_auth_request(
        &self,
        school: &School,
        request: &AuthRequest,
        ip: &str,
    ) -> Result<String, Error> {
        let id = random_token(24);
        let key = format!("authz:{}:{}", school.id, id);
        let bytes = serde_json::to_vec(request).map_err(|_| Error::server_error())?;
        let cost = (bytes.len() + key.len()) as u64;
        let ttl = self.settings.authorize_request_ttl;
        let from_ip = self
            .ephemeral
            .incr_by(&format!("authz-bytes:ip:{ip}"), cost, ttl)
            .await?;
        let all = self.ephemeral.incr_by("authz-bytes:all", cost, ttl).await?;
        if from_ip > self.settings.max_pending_login_bytes_per_ip
            || all > self.settings.max_pending_login_bytes
        {
            return Err(Error::too_many_requests(
                "too many logins are pending; try again in a few minutes",
            ));
        }
        self.ephemeral.put(&key, &bytes, ttl).await?;
        Ok(id)
    }

    /// The pending request `id`. One rule for every login method: a request that is gone
    /// (expired, used, never made) is `login_expired`; a store that does not answer is
    /// `temporarily_unavailable`, never mistaken for a gone request.
    pub async fn pending_request(&self, school: &School, id: &str) -> Result<AuthRequest, Error> {
        self.get_json(&format!("authz:{}:{}", school.id, id))
            .await?
            .ok_or_else(|| Error::of(Code::LoginExpired))
    }

    /// Keeps a changed pending request (a step done, the account known) under its id.
    pub async fn update_auth_request(
        &self,
        school: &School,
        id: &str,
        request: &AuthRequest,
    ) -> Result<(), Error> {
        let key = format!("authz:{}:{}", school.id, id);
        self.put_json(&key, request, self.settings.authorize_request_ttl)
            .await
    }

    /// Ends a pending request (it completes once).
    pub async fn take_auth_request(
        &self,
        school: &School,
        id: &str,
    ) -> Result<Option<AuthRequest>, Error> {
        self.take_json(&format!("authz:{}:{}", school.id, id)).await
    }
}
