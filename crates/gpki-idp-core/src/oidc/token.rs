//! The token endpoint (authorization_code, refresh_token with rotation and reuse detection,
//! client_credentials), ID tokens, access tokens, userinfo, introspection and revocation.
//!
//! Access tokens are opaque random handles kept in the ephemeral store: revocable at once,
//! and a token response costs one signature (the ID token's) instead of two.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::authorize::pkce_matches;
use super::session::CodeData;
use super::Provider;
use crate::keys::Alg;
use crate::model::{Client, RefreshRecord, School, User};
use crate::{random_token, token_hash, OAuthError};

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

/// Marker left when a code is exchanged: a second exchange revokes what the first issued.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CodeUsed {
    access_hash: String,
    family_id: Option<String>,
}

fn form<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn access_key(school: &School, hash: &str) -> String {
    format!("at:{}:{hash}", school.id)
}

impl Provider {
    /// Answers a token request of an authenticated client.
    pub async fn token(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, OAuthError> {
        let grant = form(params, "grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
        if !client.grant_types.iter().any(|g| g == grant) {
            return Err(match grant {
                "authorization_code" | "refresh_token" | "client_credentials" => {
                    OAuthError::unauthorized_client(format!("client may not use {grant}"))
                }
                _ => OAuthError::unsupported_grant_type("this grant_type is not supported"),
            });
        }
        match grant {
            "authorization_code" => self.exchange_code(school, issuer, client, params).await,
            "refresh_token" => self.refresh(school, issuer, client, params).await,
            "client_credentials" => self.client_credentials(school, client, params).await,
            _ => Err(OAuthError::unsupported_grant_type(
                "this grant_type is not supported",
            )),
        }
    }

    async fn exchange_code(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, OAuthError> {
        let code =
            form(params, "code").ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let hash = token_hash(code);
        let Some(data) = self
            .take_json::<CodeData>(&format!("code:{}:{hash}", school.id))
            .await?
        else {
            self.revoke_after_code_reuse(school, &hash).await?;
            return Err(OAuthError::invalid_grant(
                "code is invalid, expired or already used",
            ));
        };
        if data.client_id != client.client_id {
            return Err(OAuthError::invalid_grant(
                "code was issued to another client",
            ));
        }
        if form(params, "redirect_uri") != Some(data.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        match (&data.code_challenge, form(params, "code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
            (Some(_), _) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier without a code_challenge",
                ))
            }
            (None, None) => {}
        }
        check_min_acr(client, &data.acr)?;
        let user = self.user(school, data.user_id).await?;
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
        self.put_json(
            &format!("codeused:{}:{hash}", school.id),
            &used,
            Duration::from_secs(600),
        )
        .await?;
        Ok(response)
    }

    /// A code presented twice: what it issued is revoked (RFC 6749 §4.1.2).
    async fn revoke_after_code_reuse(&self, school: &School, hash: &str) -> Result<(), OAuthError> {
        if let Some(used) = self
            .take_json::<CodeUsed>(&format!("codeused:{}:{hash}", school.id))
            .await?
        {
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

    async fn refresh(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, OAuthError> {
        let token = form(params, "refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let invalid = || OAuthError::invalid_grant("refresh token is invalid, expired or revoked");
        let old_hash = token_hash(token);
        let record = self
            .directory
            .refresh_by_hash(school.id, &old_hash)
            .await?
            .ok_or_else(invalid)?;
        if record.client_id != client.client_id {
            return Err(invalid());
        }
        if record.revoked || record.expires_at < crate::now() {
            return Err(invalid());
        }
        let scope = match form(params, "scope") {
            Some(asked)
                if asked
                    .split(' ')
                    .all(|s| record.scope.split(' ').any(|r| r == s)) =>
            {
                asked.to_string()
            }
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "scope exceeds the original grant",
                ))
            }
            None => record.scope.clone(),
        };
        let successor = successor_token(&record.family_id, token);
        if record.used && !self.successor_unclaimed(school, &successor).await? {
            return Err(self.refresh_reused(school, &record.family_id).await);
        }
        check_min_acr(client, &record.acr)?;
        let user = self.user(school, record.user_id).await?;
        // Admin scopes follow the account's roles as they are now.
        let scope = self.entitled_scope(school, &user, &scope);
        let grant = Grant {
            user: &user,
            scope: &scope,
            nonce: None,
            auth_time: record.auth_time,
            acr: &record.acr,
            amr: &record.amr,
            session_id: record.session_id.as_deref(),
        };
        let plan = if record.used {
            RefreshPlan::Again {
                family: &record.family_id,
                successor: &successor,
            }
        } else {
            RefreshPlan::Rotate {
                family: &record.family_id,
                old_hash: &old_hash,
                successor: &successor,
            }
        };
        Ok(self.issue(school, issuer, client, &grant, plan).await?.0)
    }

    /// Whether the successor of a used refresh token is within the reuse grace window and
    /// not used itself: then the answer that carried it may never have reached the client
    /// (a lost response, a failure after the commit), and presenting the old token again is
    /// a retry, answered with the same successor. Past the window, or once the successor was
    /// used, it is a replay.
    async fn successor_unclaimed(
        &self,
        school: &School,
        successor: &str,
    ) -> Result<bool, OAuthError> {
        let grace = self.settings.refresh_reuse_grace.as_secs() as i64;
        let Some(next) = self
            .directory
            .refresh_by_hash(school.id, &token_hash(successor))
            .await?
        else {
            return Ok(false);
        };
        Ok(!next.used && !next.revoked && crate::now() - next.created_at <= grace)
    }

    /// A rotated-out refresh token came back: someone kept a copy. The whole family ends.
    async fn refresh_reused(&self, school: &School, family: &str) -> OAuthError {
        if let Err(e) = self
            .directory
            .revoke_refresh_family(school.id, family)
            .await
        {
            return e.into();
        }
        OAuthError::invalid_grant("refresh token reuse detected; the session is revoked")
    }

    async fn client_credentials(
        &self,
        school: &School,
        client: &Client,
        params: &HashMap<String, String>,
    ) -> Result<Value, OAuthError> {
        if client.public_client {
            return Err(OAuthError::unauthorized_client(
                "public clients cannot use client_credentials",
            ));
        }
        let scope = form(params, "scope").unwrap_or_default().to_string();
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            let granted = client.allowed_scopes.iter().any(|a| a == s);
            if !granted || (s == "district" && !school.district) {
                return Err(OAuthError::invalid_scope(
                    "a requested scope is not granted to this client",
                ));
            }
        }
        let (token, _) = self
            .new_access_token(school, client, None, &scope, None)
            .await?;
        Ok(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": self.settings.access_token_ttl.as_secs(), "scope": scope}),
        )
    }

    /// The scopes `user` may hold: admin scopes for the school's admins only, `district` for
    /// the district tenant's admins only.
    fn entitled_scope(&self, school: &School, user: &User, scope: &str) -> String {
        let admin = user.roles.iter().any(|r| r == "admin");
        scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .filter(|s| match *s {
                "district" => admin && school.district,
                s if ADMIN_SCOPES.contains(&s) => admin,
                _ => true,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    async fn user(&self, school: &School, id: i64) -> Result<User, OAuthError> {
        match self.directory.user_by_id(school.id, id).await? {
            Some(u) if !u.disabled => Ok(u),
            _ => Err(OAuthError::invalid_grant("the account is disabled or gone")),
        }
    }

    async fn new_access_token(
        &self,
        school: &School,
        client: &Client,
        user: Option<i64>,
        scope: &str,
        family: Option<&str>,
    ) -> Result<(String, String), OAuthError> {
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

    /// Issues access token, refresh token (when `family`) and ID token.
    ///
    /// Everything that can fail (the access token in the short-lived store, the ID token's
    /// signature) is done before the refresh token is committed: a grant that fails leaves
    /// the presented refresh token as it was, so the client's retry works.
    async fn issue(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        grant: &Grant<'_>,
        plan: RefreshPlan<'_>,
    ) -> Result<(Value, String), OAuthError> {
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

    /// Stores the refresh token of `plan` (a new family, or the rotation of a used one in
    /// the same transaction); returns it.
    async fn store_refresh(
        &self,
        school: &School,
        client: &Client,
        grant: &Grant<'_>,
        plan: RefreshPlan<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let (family, token) = match plan {
            RefreshPlan::None => return Ok(None),
            RefreshPlan::Again { successor, .. } => return Ok(Some(successor.to_string())),
            RefreshPlan::New(family) => (family, random_token(32)),
            RefreshPlan::Rotate {
                family, successor, ..
            } => (family, successor.to_string()),
        };
        let now = crate::now();
        let record = RefreshRecord {
            token_hash: token_hash(&token),
            family_id: family.to_string(),
            school_id: school.id,
            client_id: client.client_id.clone(),
            user_id: grant.user.id,
            scope: grant.scope.to_string(),
            auth_time: grant.auth_time,
            acr: grant.acr.to_string(),
            amr: grant.amr.to_vec(),
            created_at: now,
            expires_at: now + self.settings.refresh_token_ttl.as_secs() as i64,
            used: false,
            revoked: false,
            session_id: grant.session_id.map(str::to_string),
        };
        match plan {
            RefreshPlan::Rotate { old_hash, .. } => {
                let rotated = self
                    .directory
                    .rotate_refresh(school.id, old_hash, record)
                    .await?;
                // Another request with the same token committed first: the same successor
                // (it is derived from the token) is its answer too, within the grace window.
                if !rotated && !self.successor_unclaimed(school, &token).await? {
                    return Err(self.refresh_reused(school, family).await);
                }
            }
            _ => self.directory.insert_refresh(record).await?,
        }
        Ok(Some(token))
    }

    fn id_token_claims(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        grant: &Grant<'_>,
        access_token: &str,
    ) -> Value {
        let now = crate::now();
        let mut claims = json!({
            "iss": issuer,
            "sub": grant.user.subject,
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": now + self.settings.id_token_ttl.as_secs() as i64,
            "iat": now,
            "auth_time": grant.auth_time,
            "acr": grant.acr,
            "amr": grant.amr,
            "at_hash": at_hash(access_token, &client.id_token_alg),
            "name": grant.user.display_name,
            "preferred_username": grant.user.username,
            "school": school.code,
            "roles": grant.user.roles,
        });
        if let Some(nonce) = grant.nonce {
            claims["nonce"] = json!(nonce);
        }
        claims
    }

    /// The access token's record, if it is live.
    pub async fn access_token(
        &self,
        school: &School,
        token: &str,
    ) -> Result<Option<AccessData>, OAuthError> {
        let data: Option<AccessData> = self
            .get_json(&access_key(school, &token_hash(token)))
            .await?;
        Ok(data.filter(|d| d.exp >= crate::now()))
    }

    /// Userinfo claims for a bearer token.
    pub async fn userinfo(&self, school: &School, token: &str) -> Result<Value, OAuthError> {
        let invalid = || OAuthError::invalid_token("the access token is invalid or expired");
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

    /// RFC 7662 introspection for an authenticated confidential client. A client sees its
    /// own tokens; a resource server granted [`INTROSPECTION_SCOPE`] sees every token of the
    /// school. Any other token is answered `active: false`, as an unknown one.
    pub async fn introspect(
        &self,
        school: &School,
        issuer: &str,
        client: &Client,
        token: &str,
    ) -> Result<Value, OAuthError> {
        let inactive = json!({"active": false});
        let may_see = |owner: &str| {
            owner == client.client_id
                || client
                    .allowed_scopes
                    .iter()
                    .any(|s| s == INTROSPECTION_SCOPE)
        };
        if let Some(at) = self.access_token(school, token).await? {
            if !may_see(&at.client_id) {
                return Ok(inactive);
            }
            let sub = match at.user_id {
                Some(id) => self
                    .directory
                    .user_by_id(school.id, id)
                    .await?
                    .map(|u| u.subject),
                None => Some(at.client_id.clone()),
            };
            return Ok(
                json!({"active": true, "token_type": "Bearer", "client_id": at.client_id, "scope": at.scope, "sub": sub, "exp": at.exp, "iat": at.iat, "iss": issuer}),
            );
        }
        if let Some(rt) = self
            .directory
            .refresh_by_hash(school.id, &token_hash(token))
            .await?
        {
            if !rt.used && !rt.revoked && rt.expires_at >= crate::now() && may_see(&rt.client_id) {
                let sub = self
                    .directory
                    .user_by_id(school.id, rt.user_id)
                    .await?
                    .map(|u| u.subject);
                return Ok(
                    json!({"active": true, "token_type": "refresh_token", "client_id": rt.client_id, "scope": rt.scope, "sub": sub, "exp": rt.expires_at, "iat": rt.created_at, "iss": issuer}),
                );
            }
        }
        Ok(inactive)
    }

    /// RFC 7009 revocation of a token of `client` (others' tokens are ignored silently).
    pub async fn revoke(
        &self,
        school: &School,
        client: &Client,
        token: &str,
    ) -> Result<(), OAuthError> {
        let hash = token_hash(token);
        if let Some(at) = self
            .get_json::<AccessData>(&access_key(school, &hash))
            .await?
        {
            if at.client_id == client.client_id {
                self.ephemeral.delete(&access_key(school, &hash)).await?;
            }
            return Ok(());
        }
        if let Some(rt) = self.directory.refresh_by_hash(school.id, &hash).await? {
            if rt.client_id == client.client_id {
                self.directory
                    .revoke_refresh_family(school.id, &rt.family_id)
                    .await?;
            }
        }
        Ok(())
    }
}

/// What a token response is issued for.
struct Grant<'a> {
    user: &'a User,
    scope: &'a str,
    nonce: Option<&'a str>,
    auth_time: i64,
    acr: &'a str,
    amr: &'a [String],
    session_id: Option<&'a str>,
}

/// What a token response does about refresh tokens.
#[derive(Clone, Copy, Debug)]
enum RefreshPlan<'a> {
    None,
    /// A new token of a new family.
    New(&'a str),
    /// The successor of `old_hash` in its family, swapped in one transaction.
    Rotate {
        family: &'a str,
        old_hash: &'a str,
        successor: &'a str,
    },
    /// The successor already stored for a retried rotation (see `successor_unclaimed`).
    Again {
        family: &'a str,
        successor: &'a str,
    },
}

impl<'a> RefreshPlan<'a> {
    fn from(family: Option<&'a str>) -> Self {
        family.map_or(Self::None, Self::New)
    }

    fn family(self) -> Option<&'a str> {
        match self {
            Self::None => None,
            Self::New(f) | Self::Rotate { family: f, .. } | Self::Again { family: f, .. } => {
                Some(f)
            }
        }
    }
}

/// The refresh token that succeeds `token` in its family. Derived rather than random, so
/// that a retried rotation gets the very token the lost answer carried; the family id is a
/// server-side secret (never sent to clients), so whoever holds `token` alone cannot work
/// out its successor.
fn successor_token(family: &str, token: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"gpki-idp refresh successor\0");
    ctx.update(family.as_bytes());
    ctx.update(b"\0");
    ctx.update(token.as_bytes());
    B64URL.encode(ctx.finish().as_ref())
}

/// Refuses tokens for a login below the client's minimum acr.
fn check_min_acr(client: &Client, acr: &str) -> Result<(), OAuthError> {
    use crate::policy::acr_level;
    let minimum = client.min_acr.as_deref().and_then(acr_level).unwrap_or(0);
    if acr_level(acr).unwrap_or(0) < minimum {
        return Err(OAuthError::invalid_grant(
            "the login's assurance level (acr) is below this client's minimum",
        ));
    }
    Ok(())
}

/// The scope that lets a client (a resource server) introspect every token of its school.
pub const INTROSPECTION_SCOPE: &str = "introspection";

/// Scopes that only a school's admins (GMs) may hold.
pub const ADMIN_SCOPES: [&str; 3] = ["admin", "admin:users", "admin:audit"];

/// OIDC at_hash: left half of the SHA-256 of the access token (both RS256 and ES256 use it).
fn at_hash(access_token: &str, _alg: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    B64URL.encode(&digest.as_ref()[..16])
}

/// The claims of a JWT, without checking anything (to find the key to check it with).
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&B64URL.decode(payload).ok()?).ok()
}

/// Verifies a compact JWS (RS256 or ES256) against a JWKS; returns its claims.
pub fn verify_jwt_with(jwt: &str, jwks: &Value) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&B64URL.decode(h).ok()?).ok()?;
    let sig = B64URL.decode(s).ok()?;
    let alg = header["alg"].as_str()?;
    let kid = header["kid"].as_str();
    let message = format!("{h}.{p}");
    let keys = jwks["keys"].as_array()?;
    let verified = keys
        .iter()
        .filter(|k| kid.is_none() || k["kid"].as_str() == kid)
        .any(|k| verify_with_jwk(alg, k, message.as_bytes(), &sig));
    if !verified {
        return None;
    }
    serde_json::from_slice(&B64URL.decode(p).ok()?).ok()
}

fn verify_with_jwk(alg: &str, jwk: &Value, message: &[u8], sig: &[u8]) -> bool {
    let field = |name: &str| jwk[name].as_str().and_then(|v| B64URL.decode(v).ok());
    match (alg, jwk["kty"].as_str()) {
        ("RS256", Some("RSA")) => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else {
                return false;
            };
            let key = signature::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            };
            key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok()
        }
        ("ES256", Some("EC")) => {
            let (Some(x), Some(y)) = (field("x"), field("y")) else {
                return false;
            };
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok()
        }
        _ => false,
    }
}
