//! The token endpoint: the grant types ([`code_grant`], [`refresh`] with rotation and reuse
//! detection, client_credentials here), the tokens a grant issues ([`issue`], [`access`],
//! [`id_token`]), and what a client may ask of a token later ([`introspect`]).
//!
//! Access tokens are opaque random handles kept in the ephemeral store: revocable at once,
//! and a token response costs one signature (the ID token's) instead of two.

mod access;
mod code_grant;
mod grant;
mod id_token;
mod introspect;
mod issue;
mod refresh;

use std::collections::HashMap;

use serde_json::{json, Value};

pub use self::access::AccessData;
pub use self::grant::ADMIN_SCOPES;
pub use self::introspect::INTROSPECTION_SCOPE;

use super::Provider;
use crate::error::Error;
use crate::model::{Client, School};
use crate::params::param;

impl Provider {
    /// Answers a token request of an authenticated client.
    pub async fn token(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, Error> {
        let grant = param(params, "grant_type")
            .ok_or_else(|| Error::invalid_request("grant_type is missing"))?;
        if !client.grant_types.iter().any(|g| g == grant) {
            return Err(match grant {
                "authorization_code" | "refresh_token" | "client_credentials" => {
                    Error::unauthorized_client(format!("client may not use {grant}"))
                }
                _ => Error::unsupported_grant_type("this grant_type is not supported"),
            });
        }
        match grant {
            "authorization_code" => {
                let code = param(params, "code")
                    .ok_or_else(|| Error::invalid_request("code is missing"))?;
                let redirect_uri = param(params, "redirect_uri");
                let verifier = param(params, "code_verifier");
                self.exchange_code(school, issuer, client, code, redirect_uri, verifier)
                    .await
            }
            "refresh_token" => {
                let token = param(params, "refresh_token")
                    .ok_or_else(|| Error::invalid_request("refresh_token is missing"))?;
                self.refresh(school, issuer, client, token, param(params, "scope"))
                    .await
            }
            "client_credentials" => {
                let scope = param(params, "scope").unwrap_or_default();
                self.client_credentials(school, client, scope).await
            }
            _ => Err(Error::unsupported_grant_type(
                "this grant_type is not supported",
            )),
        }
    }

    /// An access token for the client itself: no user, no refresh token, no ID token.
    async fn client_credentials(
        &self,
        school: &School,
        client: &Client,
        scope: &str,
    ) -> Result<Value, Error> {
        if client.public_client {
            return Err(Error::unauthorized_client(
                "public clients cannot use client_credentials",
            ));
        }
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            let granted = client.allowed_scopes.iter().any(|a| a == s);
            if !granted || (s == "district" && !school.district) {
                return Err(Error::invalid_scope(
                    "a requested scope is not granted to this client",
                ));
            }
        }
        let (token, _) = self
            .new_access_token(school, client, None, scope, None)
            .await?;
        Ok(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": self.settings.access_token_ttl.as_secs(), "scope": scope}),
        )
    }
}
