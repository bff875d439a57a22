//! Client authentication at the token, revocation and introspection endpoints:
//! client_secret_basic, client_secret_post, private_key_jwt, and none (public clients).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Provider;
use crate::model::{Client, School};
use crate::{error::Error, jws, password};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn form<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The credentials of an `Authorization` header of `scheme`; scheme names are
/// case-insensitive (RFC 9110 §11.1).
pub fn auth_param<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = header.trim_start().split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
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
    ) -> Result<Client, Error> {
        let bad = || Error::invalid_client("client authentication failed");
        if let Some(header) = authorization {
            let encoded = auth_param(header, "Basic").ok_or_else(bad)?;
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
    ) -> Result<Client, Error> {
        let client = self.client(school.id, client_id).await?;
        let stored = client.as_ref().and_then(|c| c.secret_hash.as_deref());
        let remembered = stored.map(|h| crate::token_hash(&format!("{h}\0{secret}")));
        if let Some(key) = &remembered {
            if self.secret_verified_recently(key) {
                return client.ok_or_else(|| Error::invalid_client("client authentication failed"));
            }
        }
        // Verify even for unknown clients, so timing does not reveal which ids exist.
        let ok = password::verify(stored, secret);
        if let (true, Some(key)) = (ok, remembered) {
            self.remember_secret(key);
        }
        match client {
            Some(c) if ok => Ok(c),
            _ => Err(Error::invalid_client("client authentication failed")),
        }
    }

    /// private_key_jwt (RFC 7523): a JWT signed (RS256 or ES256, see [`crate::jws`]) with a
    /// key in the client's registered JWKS, iss = sub = client_id, aud = our issuer (and
    /// nothing else: the 2025 audience-injection advisory), living at most
    /// [`MAX_ASSERTION_LIFETIME`], jti used once.
    async fn client_by_assertion(
        &self,
        school: &School,
        issuer: &str,
        jwt: &str,
    ) -> Result<Client, Error> {
        let bad = || Error::invalid_client("client assertion rejected");
        let claims = jws::unverified_claims(jwt).ok_or_else(bad)?;
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
        let verified = jws::verify_jwt_with(jwt, &jwks).ok_or_else(bad)?;
        let jti = verified["jti"].as_str().filter(|j| j.len() <= 256);
        let (Some(jti), Some(exp)) = (jti, assertion_exp(&verified, issuer, crate::now())) else {
            return Err(bad());
        };
        // Remembered until the assertion could no longer be accepted anyway.
        let ttl = (exp + CLOCK_SKEW - crate::now()).clamp(1, 2 * MAX_ASSERTION_LIFETIME);
        let first_use = self
            .ephemeral
            .incr(
                &format!("jti:{}:{client_id}:{jti}", school.id),
                std::time::Duration::from_secs(ttl as u64),
            )
            .await?
            == 1;
        if first_use {
            Ok(client)
        } else {
            Err(bad())
        }
    }
}

/// The longest an assertion may live (its exp after now, and after its iat).
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// The clock difference allowed with clients.
const CLOCK_SKEW: i64 = 60;

/// The assertion's `exp` when its audience and times are acceptable at `now`.
fn assertion_exp(claims: &serde_json::Value, issuer: &str, now: i64) -> Option<i64> {
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == issuer,
        serde_json::Value::Array(list) => list.len() == 1 && list[0].as_str() == Some(issuer),
        _ => false,
    };
    let exp = claims["exp"].as_i64()?;
    let time = |name: &str| match &claims[name] {
        serde_json::Value::Null => Some(None),
        v => v.as_i64().map(Some),
    };
    let (iat, nbf) = (time("iat")?, time("nbf")?);
    let live = exp + CLOCK_SKEW >= now && exp - now <= MAX_ASSERTION_LIFETIME + CLOCK_SKEW;
    let issued_ok = iat.is_none_or(|i| i <= now + CLOCK_SKEW && exp - i <= MAX_ASSERTION_LIFETIME);
    let started = nbf.is_none_or(|n| n <= now + CLOCK_SKEW);
    (aud_ok && live && issued_ok && started).then_some(exp)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://idp.example/schools/demo";

    #[test]
    fn assertions_for_our_issuer_living_minutes_only() {
        let now = 1_000_000;
        let ok = |c: serde_json::Value| assertion_exp(&c, ISS, now).is_some();
        assert!(ok(json!({"aud": ISS, "exp": now + 60, "iat": now})));
        assert!(ok(json!({"aud": [ISS], "exp": now + 60})));
        assert!(
            !ok(json!({"aud": format!("{ISS}/token"), "exp": now + 60})),
            "token endpoint"
        );
        assert!(!ok(
            json!({"aud": [ISS, "https://other.example"], "exp": now + 60})
        ));
        assert!(!ok(json!({"aud": ISS, "exp": now + 86400})), "far exp");
        assert!(!ok(json!({"aud": ISS, "exp": now - 120})), "expired");
        assert!(!ok(json!({"aud": ISS})), "no exp");
        assert!(
            !ok(json!({"aud": ISS, "exp": now + 60, "nbf": now + 600})),
            "not yet valid"
        );
        assert!(
            !ok(json!({"aud": ISS, "exp": now + 60, "iat": now + 600})),
            "issued later"
        );
        assert!(
            !ok(json!({"aud": ISS, "exp": now + 200, "iat": now - 400})),
            "lives too long"
        );
        assert!(
            !ok(json!({"aud": ISS, "exp": now + 60, "iat": "now"})),
            "iat not a number"
        );
    }
}
