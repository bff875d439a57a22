//! Logging a person in: password check with throttling, the browser session, the pending
//! authorization request and the authorization code.

use serde::{Deserialize, Serialize};

use super::authorize::AuthRequest;
use super::step::Proved;
use super::Provider;
use crate::model::{School, SessionRecord};
use crate::policy::{self, Method};
use crate::{password, random_token, token_hash, OAuthError};

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
}

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

/// Why a password login failed. Unknown account and wrong password are one case.
#[derive(Debug)]
pub enum LoginError {
    /// 帳號或密碼錯誤: the same answer whether the account exists or not.
    Invalid,
    /// Too many attempts for this account or from this address.
    Throttled,
    /// The school's policy does not let this account's roles use a password (checked only
    /// after the password was right, so it reveals nothing to a guesser).
    NotAllowed,
    Store(OAuthError),
}

impl From<OAuthError> for LoginError {
    fn from(e: OAuthError) -> Self {
        Self::Store(e)
    }
}

impl Provider {
    /// Checks a password, counting failures per account and attempts per client address.
    pub async fn password_login(
        &self,
        school: &School,
        username: &str,
        pw: &str,
        ip: &str,
    ) -> Result<Proved, LoginError> {
        let window = self.settings.throttle_window;
        let account_key = format!("rl:acct:{}:{}", school.id, username.to_lowercase());
        let ip_key = format!("rl:ip:{ip}");
        let attempts = self
            .ephemeral
            .incr(&ip_key, window)
            .await
            .map_err(|e| LoginError::Store(e.into()))?;
        let failures = self.counter(&account_key).await?;
        if attempts > self.settings.max_attempts_per_ip
            || failures >= self.settings.max_failures_per_account
        {
            return Err(LoginError::Throttled);
        }
        let user = self
            .directory
            .user_by_username(school.id, username)
            .await
            .map_err(|e| LoginError::Store(e.into()))?;
        let usable = user.as_ref().filter(|u| !u.disabled);
        // One argon2 verification on every path, so timing does not tell accounts apart.
        let ok = password::verify(usable.and_then(|u| u.password_hash.as_deref()), pw);
        match usable {
            Some(u) if ok => {
                self.ephemeral
                    .delete(&account_key)
                    .await
                    .map_err(|e| LoginError::Store(e.into()))?;
                let policies = self
                    .directory
                    .login_policy(school.id)
                    .await
                    .map_err(|e| LoginError::Store(e.into()))?;
                if !policy::allows(&policies, &u.roles, Method::Password) {
                    return Err(LoginError::NotAllowed);
                }
                Ok(Proved {
                    user: u.clone(),
                    policies,
                })
            }
            _ => {
                self.ephemeral
                    .incr(&account_key, window)
                    .await
                    .map_err(|e| LoginError::Store(e.into()))?;
                Err(LoginError::Invalid)
            }
        }
    }

    /// Counts a look-up of an account's login methods from `ip` against the same per-address
    /// budget as password attempts (the account-first page must not become a way to list
    /// accounts); false when the budget is spent.
    pub async fn account_probe_allowed(&self, ip: &str) -> Result<bool, OAuthError> {
        let attempts = self
            .ephemeral
            .incr(&format!("rl:probe:{ip}"), self.settings.throttle_window)
            .await?;
        Ok(attempts <= self.settings.max_attempts_per_ip)
    }

    async fn counter(&self, key: &str) -> Result<u64, OAuthError> {
        let bytes = self.ephemeral.get(key).await?;
        Ok(bytes
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0))
    }

    /// Starts a browser session: kept in the short-lived store for logins, and recorded in
    /// the directory so admins can list and end it. Returns the cookie value and the session.
    pub async fn create_session(
        &self,
        school: &School,
        mut session: Session,
    ) -> Result<(String, Session), OAuthError> {
        let sid = random_token(32);
        session.id = token_hash(&sid);
        let ttl = self.settings.session_ttl;
        let key = format!("sess:{}:{}", school.id, session.id);
        self.put_json(&key, &session, ttl).await?;
        let record = SessionRecord {
            id: session.id.clone(),
            school_id: school.id,
            user_id: session.user_id,
            username: String::new(),
            acr: session.acr.clone(),
            amr: session.amr.clone(),
            auth_time: session.auth_time,
            expires_at: crate::now() + ttl.as_secs() as i64,
        };
        self.directory.add_session(record).await?;
        Ok((sid, session))
    }

    /// Ends a session by its id (an admin's revocation): gone from the short-lived store,
    /// marked revoked, and the refresh tokens issued in it revoked.
    pub async fn revoke_session(
        &self,
        school: &School,
        id: &str,
    ) -> Result<Option<SessionRecord>, OAuthError> {
        self.ephemeral
            .delete(&format!("sess:{}:{}", school.id, id))
            .await?;
        Ok(self.directory.revoke_session(school.id, id).await?)
    }

    pub async fn session(&self, school: &School, sid: &str) -> Result<Option<Session>, OAuthError> {
        self.get_json(&format!("sess:{}:{}", school.id, token_hash(sid)))
            .await
    }

    pub async fn end_session(&self, school: &School, sid: &str) -> Result<(), OAuthError> {
        self.revoke_session(school, &token_hash(sid)).await?;
        Ok(())
    }

    /// Keeps a validated authorization request while the user logs in; returns its id.
    pub async fn save_auth_request(
        &self,
        school: &School,
        request: &AuthRequest,
    ) -> Result<String, OAuthError> {
        let id = random_token(24);
        let key = format!("authz:{}:{}", school.id, id);
        self.put_json(&key, request, self.settings.authorize_request_ttl)
            .await?;
        Ok(id)
    }

    pub async fn auth_request(
        &self,
        school: &School,
        id: &str,
    ) -> Result<Option<AuthRequest>, OAuthError> {
        self.get_json(&format!("authz:{}:{}", school.id, id)).await
    }

    /// Keeps a changed pending request (a step done, the account known) under its id.
    pub async fn update_auth_request(
        &self,
        school: &School,
        id: &str,
        request: &AuthRequest,
    ) -> Result<(), OAuthError> {
        let key = format!("authz:{}:{}", school.id, id);
        self.put_json(&key, request, self.settings.authorize_request_ttl)
            .await
    }

    /// Ends a pending request (it completes once).
    pub async fn take_auth_request(
        &self,
        school: &School,
        id: &str,
    ) -> Result<Option<AuthRequest>, OAuthError> {
        self.take_json(&format!("authz:{}:{}", school.id, id)).await
    }

    /// Issues a single-use authorization code for a request and a session.
    pub async fn issue_code(
        &self,
        school: &School,
        request: &AuthRequest,
        session: &Session,
    ) -> Result<String, OAuthError> {
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
        self.put_json(
            &format!("code:{}:{}", school.id, token_hash(&code)),
            &data,
            self.settings.code_ttl,
        )
        .await?;
        Ok(code)
    }

    /// Whether a session satisfies the request's `max_age` and `prompt`.
    pub fn session_fits(&self, request: &AuthRequest, session: &Session) -> bool {
        let fresh = request
            .max_age
            .is_none_or(|max| crate::now() - session.auth_time <= max);
        let forced = request
            .prompt
            .as_deref()
            .is_some_and(|p| p.split(' ').any(|v| v == "login"));
        fresh && !forced
    }
}
