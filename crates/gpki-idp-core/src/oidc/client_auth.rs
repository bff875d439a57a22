//! Client authentication at the token, revocation and introspection endpoints:
//! client_secret_basic, client_secret_post, private_key_jwt, and none (public clients).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Provider;
use crate::model::{Client, School};
use crate::{password, OAuthError};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn form<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Percent-decoding of the form-encoded parts of a Basic header (RFC 6749 §2.3.1).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Provider {
    /// Authenticates the calling client of `school`.
    pub async fn authenticate_client(
        &self,
        school: &School,
        issuer: &str,
        authorization: Option<&str>,
        params: &HashMap<String, String>,
    ) -> Result<Client, OAuthError> {
        let bad = || OAuthError::invalid_client("client authentication failed");
        if let Some(header) = authorization {
            let encoded = header.strip_prefix("Basic ").ok_or_else(bad)?;
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            return self
                .client_by_secret(school, &form_decode(id), &form_decode(secret))
                .await;
        }
        if form(params, "client_assertion_type") == Some(JWT_BEARER) {
            let assertion = form(params, "client_assertion").ok_or_else(bad)?;
            return self.client_by_assertion(school, issuer, assertion).await;
        }
        let client_id = form(params, "client_id").ok_or_else(bad)?;
        match form(params, "client_secret") {
            Some(secret) => self.client_by_secret(school, client_id, secret).await,
            None => {
                let client = self.client(school.id, client_id).await?.ok_or_else(bad)?;
                if client.public_client {
                    Ok(client)
                } else {
                    Err(bad())
                }
            }
        }
    }

    async fn client_by_secret(
        &self,
        school: &School,
        client_id: &str,
        secret: &str,
    ) -> Result<Client, OAuthError> {
        let client = self.client(school.id, client_id).await?;
        let stored = client.as_ref().and_then(|c| c.secret_hash.as_deref());
        let remembered = stored.map(|h| crate::token_hash(&format!("{h}\0{secret}")));
        if let Some(key) = &remembered {
            if self.secret_verified_recently(key) {
                return client
                    .ok_or_else(|| OAuthError::invalid_client("client authentication failed"));
            }
        }
        // Verify even for unknown clients, so timing does not reveal which ids exist.
        let ok = password::verify(stored, secret);
        if let (true, Some(key)) = (ok, remembered) {
            self.remember_secret(key);
        }
        match client {
            Some(c) if ok => Ok(c),
            _ => Err(OAuthError::invalid_client("client authentication failed")),
        }
    }

    /// private_key_jwt (RFC 7523): a JWT signed with a key in the client's registered JWKS,
    /// iss = sub = client_id, aud = our token endpoint or issuer, unexpired, jti used once.
    async fn client_by_assertion(
        &self,
        school: &School,
        issuer: &str,
        jwt: &str,
    ) -> Result<Client, OAuthError> {
        let bad = || OAuthError::invalid_client("client assertion rejected");
        let claims = super::token::unverified_claims(jwt).ok_or_else(bad)?;
        let client_id = claims["iss"].as_str().ok_or_else(bad)?;
        if claims["sub"].as_str() != Some(client_id) {
            return Err(bad());
        }
        let client = self.client(school.id, client_id).await?.ok_or_else(bad)?;
        let jwks: serde_json::Value = client
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(bad)?;
        let verified = super::token::verify_jwt_with(jwt, &jwks).ok_or_else(bad)?;
        let token_endpoint = format!("{issuer}/token");
        let aud_ok = match &verified["aud"] {
            serde_json::Value::String(a) => *a == token_endpoint || a == issuer,
            serde_json::Value::Array(list) => list
                .iter()
                .any(|a| a.as_str() == Some(&token_endpoint) || a.as_str() == Some(issuer)),
            _ => false,
        };
        let exp = verified["exp"].as_i64().ok_or_else(bad)?;
        let jti = verified["jti"].as_str().ok_or_else(bad)?;
        if !aud_ok || exp < crate::now() {
            return Err(bad());
        }
        let ttl = std::time::Duration::from_secs((exp - crate::now()).clamp(1, 3600) as u64);
        let first_use = self
            .ephemeral
            .incr(&format!("jti:{}:{client_id}:{jti}", school.id), ttl)
            .await?
            == 1;
        if first_use {
            Ok(client)
        } else {
            Err(bad())
        }
    }
}

/// How long a verified client secret is trusted without running argon2 again.
const SECRET_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);
/// Most secrets remembered at once (the memory is cleared when full).
const SECRET_MEMORY_SIZE: usize = 10_000;

impl Provider {
    /// Whether this (stored hash, secret) pair verified within [`SECRET_MEMORY`]. The key
    /// covers the stored hash, so a rotated secret is never remembered as valid.
    fn secret_verified_recently(&self, key: &str) -> bool {
        self.verified_secrets
            .lock()
            .ok()
            .and_then(|m| m.get(key).copied())
            .is_some_and(|at| at.elapsed() < SECRET_MEMORY)
    }

    fn remember_secret(&self, key: String) {
        if let Ok(mut m) = self.verified_secrets.lock() {
            if m.len() >= SECRET_MEMORY_SIZE {
                m.clear();
            }
            m.insert(key, std::time::Instant::now());
        }
    }
}
