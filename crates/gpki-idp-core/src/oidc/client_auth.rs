//! Client authentication at the token, revocation and introspection endpoints:
//! client_secret_basic, client_secret_post, private_key_jwt, and none (public clients).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Provider;
use crate::audit::{Audit, AuditEvent, Origin};
use crate::client_secret::{self, SecretKey};
use crate::code::Code;
use crate::model::{Client, School};
use crate::params::param;
use crate::{error::Error, jws, password};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

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

/// What a client presented to authenticate: its id and its credential.
enum Presented<'a> {
    Secret {
        id: String,
        secret: String,
    },
    Assertion {
        id: String,
        jwt: &'a str,
    },
    /// A client id alone: a public client.
    Nothing {
        id: &'a str,
    },
}

impl Presented<'_> {
    fn client_id(&self) -> &str {
        match self {
            Self::Secret { id, .. } | Self::Assertion { id, .. } => id,
            Self::Nothing { id } => id,
        }
    }
}

fn bad() -> Error {
    Error::invalid_client("client authentication failed")
}

/// The credentials of a request, read without checking any of them: a Basic header, a
/// client assertion, or a client id with or without a secret in the form.
fn presented<'a>(
    authorization: Option<&str>,
    params: &'a HashMap<String, String>,
) -> Result<Presented<'a>, Error> {
    if let Some(header) = authorization {
        let encoded = auth_param(header, "Basic").ok_or_else(bad)?;
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = text.split_once(':').ok_or_else(bad)?;
        let (id, secret) = (form_decode(id), form_decode(secret));
        return Ok(Presented::Secret { id, secret });
    }
    if param(params, "client_assertion_type") == Some(JWT_BEARER) {
        let jwt = param(params, "client_assertion").ok_or_else(bad)?;
        let claims = jws::unverified_claims(jwt).ok_or_else(bad)?;
        let id = claims["iss"].as_str().ok_or_else(bad)?.to_string();
        return Ok(Presented::Assertion { id, jwt });
    }
    let id = param(params, "client_id").ok_or_else(bad)?;
    Ok(match param(params, "client_secret") {
        Some(secret) => Presented::Secret {
            id: id.to_string(),
            secret: secret.to_string(),
        },
        None => Presented::Nothing { id },
    })
}

impl Provider {
    /// Authenticates the calling client of `school`, calling from `ip`. The attempt is
    /// counted before anything is checked and given back when the credentials are right
    /// ([`super::throttle`]): wrong credentials make later attempts from the address wait
    /// (429 `throttled` with `Retry-After`; RFC 6749 has no throttling error), right ones
    /// cost nothing. `invalid_client` for every wrong credential alike.
    ///
    /// While a wait holds, right credentials still pass, unless checking them would cost
    /// argon2 (a secret stored before the fast form). A client's credentials are 256 random
    /// bits or a private key, not a password anyone could guess, so letting a right one
    /// through teaches a guesser nothing; holding it up would let a pupil behind a school's
    /// NAT address stop the portal on the school's own server (or every browser of a public
    /// client behind it) with one wrong secret a minute.
    pub async fn authenticate_client(
        &self,
        school: &School,
        issuer: &str,
        ip: &str,
        authorization: Option<&str>,
        params: &HashMap<String, String>,
    ) -> Result<Client, Error> {
        let presented = presented(authorization, params)?;
        let reserved = match self
            .reserve_client_attempt(school, presented.client_id(), ip)
            .await
        {
            Ok(reserved) => reserved,
            Err(wait) if wait.code == Code::Throttled => {
                return self
                    .check_while_waiting(school, issuer, ip, presented, wait)
                    .await;
            }
            Err(e) => return Err(e),
        };
        let checked = self.check_presented(school, issuer, ip, presented).await;
        match &checked {
            Ok(_) => self.attempt_was_right(reserved).await?,
            Err(e) if e.is_unavailable() => self.attempt_undecided(reserved).await?,
            Err(_) => {}
        }
        checked
    }

    async fn check_presented(
        &self,
        school: &School,
        issuer: &str,
        ip: &str,
        presented: Presented<'_>,
    ) -> Result<Client, Error> {
        match presented {
            Presented::Secret { id, secret } => {
                self.client_by_secret(school, &id, &secret, ip).await
            }
            Presented::Assertion { jwt, .. } => self.client_by_assertion(school, issuer, jwt).await,
            Presented::Nothing { id } => self.public_client(school, id).await,
        }
    }

    /// Credentials presented while their (client, address) or address waits: checked when
    /// that is cheap, and then a right one passes; a wrong one, or one whose check would
    /// cost argon2, gets the wait (uncounted).
    async fn check_while_waiting(
        &self,
        school: &School,
        issuer: &str,
        ip: &str,
        presented: Presented<'_>,
        wait: Error,
    ) -> Result<Client, Error> {
        if let Presented::Secret { id, .. } = &presented {
            let client = self.client(school.id, id).await?;
            let stored = client.as_ref().and_then(|c| c.secret_hash.as_deref());
            if stored.is_some_and(password::is_argon2) {
                return Err(wait);
            }
        }
        match self.check_presented(school, issuer, ip, presented).await {
            Err(e) if !e.is_unavailable() => Err(wait),
            checked => checked,
        }
    }

    /// A client that names itself and proves nothing: only a public client may.
    async fn public_client(&self, school: &School, client_id: &str) -> Result<Client, Error> {
        match self.client(school.id, client_id).await? {
            Some(client) if client.public_client => Ok(client),
            _ => Err(bad()),
        }
    }

    async fn client_by_secret(
        &self,
        school: &School,
        client_id: &str,
        secret: &str,
        ip: &str,
    ) -> Result<Client, Error> {
        let client = self.client(school.id, client_id).await?;
        // Checked even for unknown clients, so timing does not reveal which ids exist.
        let ok = self
            .client_secret_matches(school, client.as_ref(), secret, ip)
            .await?;
        client.filter(|_| ok).ok_or_else(bad)
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

impl Provider {
    /// The key of client secrets, read (or made) once.
    async fn client_secret_key(&self) -> Result<&SecretKey, Error> {
        self.client_secret_key
            .get_or_try_init(|| async {
                let fresh = crate::random_token(32).into_bytes();
                let secret = self
                    .directory
                    .secret(client_secret::KEY_NAME, fresh)
                    .await?;
                Ok(SecretKey::new(&secret))
            })
            .await
    }

    /// The stored form of a new client secret.
    pub async fn client_secret_hash(&self, secret: &str) -> Result<String, Error> {
        Ok(self.client_secret_key().await?.hash(secret))
    }

    /// Whether `secret` is the secret of `client` (`None`: no such client, checked at the
    /// same cost as a wrong secret of a client stored in the fast form). A right secret
    /// stored as argon2 (before this form existed) is verified on the password pool, and
    /// its hash replaced by the fast form.
    pub(crate) async fn client_secret_matches(
        &self,
        school: &School,
        client: Option<&Client>,
        secret: &str,
        ip: &str,
    ) -> Result<bool, Error> {
        let key = self.client_secret_key().await?;
        let stored = client.and_then(|c| c.secret_hash.as_deref());
        let Some(old) =
            stored.filter(|s| password::is_argon2(s) && secret.len() <= client_secret::MAX_SECRET)
        else {
            return Ok(key.matches(stored, secret));
        };
        let ok = password::verify_pooled(Some(old.to_string()), secret.to_string()).await?;
        if let (true, Some(client)) = (ok, client) {
            // The client proved itself: a store that cannot take the new form now does not
            // refuse it; the log says so, and the next right secret tries again.
            let new = key.hash(secret);
            if let Err(e) = self
                .rehash_client_secret(school, client, old, &new, ip)
                .await
            {
                tracing::error!("type" = "error", source = "store", detail = %e.description);
            }
        }
        Ok(ok)
    }

    /// Replaces an argon2 hash of a right secret by the fast form, when it is still the
    /// stored one, audited in the same transaction (the secret itself stays the same).
    async fn rehash_client_secret(
        &self,
        school: &School,
        client: &Client,
        old: &str,
        new: &str,
        ip: &str,
    ) -> Result<(), Error> {
        let id = client.client_id.as_str();
        let mut event = AuditEvent::new(school.id, "client.secret_rehash", "success", id);
        event.client_id = Some(id.to_string());
        event.detail = serde_json::json!({"from": "argon2id", "to": "hmac-sha256"});
        Origin::new(ip.to_string(), None).stamp(&mut event);
        let audit = Audit::event(event);
        let swapped = self
            .directory
            .replace_client_secret_hash(school.id, id, old, new, audit)
            .await;
        self.forget_client(school.id, id);
        swapped?;
        Ok(())
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
