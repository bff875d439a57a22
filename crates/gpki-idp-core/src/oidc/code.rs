//! The authorization code: issued for a pending request once its login completes, and
//! exchanged once at the token endpoint (the code grant).

use serde::{Deserialize, Serialize};

use super::request::AuthRequest;
use super::session::Session;
use super::Provider;
use crate::model::School;
use crate::{error::Error, random_token, token_hash};

/// What an authorization code stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeData {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// The browser session the code was issued in.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// Where the code's data is kept: under the hash of the code, never the code itself.
pub(crate) fn code_key(school: &School, hash: &str) -> String {
    format!("code:{}:{hash}", school.id)
}

/// A code about to be issued: the code, where its data is kept, and the data.
pub(crate) struct NewCode {
    pub code: String,
    pub key: String,
    pub data: CodeData,
}

/// A fresh code for a request and a session.
pub(crate) fn new_code(school: &School, request: &AuthRequest, session: &Session) -> NewCode {
    let code = random_token(32);
    let data = CodeData {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_id: session.user_id,
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
        session_id: Some(session.id.clone()).filter(|id| !id.is_empty()),
    };
    NewCode {
        key: code_key(school, &token_hash(&code)),
        code,
        data,
    }
}

impl Provider {
    /// Issues a single-use authorization code for a request and a session.
    pub async fn issue_code(
        &self,
        school: &School,
        request: &AuthRequest,
        session: &Session,
    ) -> Result<String, Error> {
        let new = new_code(school, request, session);
        self.put_json(&new.key, &new.data, self.settings.code_ttl)
            .await?;
        Ok(new.code)
    }
}
