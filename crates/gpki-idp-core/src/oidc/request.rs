//! The pending authorization request: validated at `/authorize`, carried by the login page
//! while the person logs in, and ended when the login completes.
//!
//! Nothing is stored for a request that nobody logs in to: its id is the validated request
//! itself, with its own id and end, signed with the service's key for one school
//! ([`Carried`]). A flood of `/authorize` requests therefore costs no memory here or in Redis
//! and can refuse nobody. What a login adds is stored small and fixed in size, under the
//! request's own id: the step already done (`authz-step:`) and that it was used
//! (`authz-used:`, once).

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::proved::Partial;
use super::Provider;
use crate::code::Code;
use crate::error::Error;
use crate::model::School;
use crate::random_token;

/// The name of the request-signing key in the service's secrets.
const KEY_NAME: &str = "authz-request";

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

/// What a pending request's id carries (signed): the school, the request's own id, its end
/// (Unix seconds) and the request.
#[derive(Serialize, Deserialize)]
struct Carried {
    #[serde(rename = "s")]
    school_id: i64,
    #[serde(rename = "i")]
    id: String,
    #[serde(rename = "e")]
    expires_at: i64,
    #[serde(rename = "r")]
    request: AuthRequest,
}

/// A pending request's id as pages and forms carry it: `payload.mac`, base64url.
fn seal(key: &hmac::Key, carried: &Carried) -> Result<String, Error> {
    let json = serde_json::to_vec(carried).map_err(|_| Error::server_error())?;
    let mac = hmac::sign(key, &json);
    Ok(format!(
        "{}.{}",
        B64.encode(&json),
        B64.encode(mac.as_ref())
    ))
}

/// The request an id carries, when it is ours (its MAC checks) for this school and not past
/// its end.
fn open(key: &hmac::Key, school: &School, sealed: &str, now: i64) -> Option<Carried> {
    let (payload, mac) = sealed.split_once('.')?;
    let json = B64.decode(payload).ok()?;
    hmac::verify(key, &json, &B64.decode(mac).ok()?).ok()?;
    let carried: Carried = serde_json::from_slice(&json).ok()?;
    (carried.school_id == school.id && carried.expires_at >= now).then_some(carried)
}

impl Provider {
    /// The key that signs pending requests (and card challenges, under their own prefix),
    /// made once for the whole service.
    pub(super) async fn request_key(&self) -> Result<&hmac::Key, Error> {
        self.request_key
            .get_or_try_init(|| async {
                let fresh = random_token(32).into_bytes();
                let secret = self.directory.secret(KEY_NAME, fresh).await?;
                Ok(hmac::Key::new(hmac::HMAC_SHA256, &secret))
            })
            .await
    }

    /// A validated authorization request as the id its login page carries. Nothing is
    /// stored.
    pub async fn save_auth_request(
        &self,
        school: &School,
        request: &AuthRequest,
    ) -> Result<String, Error> {
        let ttl = self.settings.authorize_request_ttl.as_secs() as i64;
        let carried = Carried {
            school_id: school.id,
            id: random_token(16),
            expires_at: crate::now() + ttl,
            // With what a session proved when it is being stepped up.
            request: request.clone(),
        };
        seal(self.request_key().await?, &carried)
    }

    /// The request an id carries (its own id, and the request with the step already done).
    /// One rule for every login method: a request that is gone (expired, used, never made,
    /// forged) is `login_expired`; a store that does not answer is
    /// `temporarily_unavailable`, never mistaken for a gone request.
    async fn carried(&self, school: &School, sealed: &str) -> Result<(String, AuthRequest), Error> {
        let gone = || Error::of(Code::LoginExpired);
        let key = self.request_key().await?;
        let carried = open(key, school, sealed, crate::now()).ok_or_else(gone)?;
        let used = format!("authz-used:{}:{}", school.id, carried.id);
        if self.ephemeral.get(&used).await?.is_some() {
            return Err(gone());
        }
        let mut request = carried.request;
        let step = format!("authz-step:{}:{}", school.id, carried.id);
        if let Some(done) = self.get_json(&step).await? {
            request.partial = Some(done);
        }
        Ok((carried.id, request))
    }

    /// The pending request with the id `sealed` (see [`Provider::carried`] for its rules).
    pub async fn pending_request(
        &self,
        school: &School,
        sealed: &str,
    ) -> Result<AuthRequest, Error> {
        Ok(self.carried(school, sealed).await?.1)
    }

    /// Keeps the step a pending request has done (`request.partial`), for the rest of the
    /// request's life.
    pub async fn update_auth_request(
        &self,
        school: &School,
        sealed: &str,
        request: &AuthRequest,
    ) -> Result<(), Error> {
        let (id, _) = self.carried(school, sealed).await?;
        let key = format!("authz-step:{}:{id}", school.id);
        self.put_json(&key, &request.partial, self.settings.authorize_request_ttl)
            .await
    }

    /// Where the step the pending request `sealed` has done is kept: for a login that
    /// stages it ahead of its audit ([`crate::staged::Staged`]).
    pub(crate) async fn step_key(&self, school: &School, sealed: &str) -> Result<String, Error> {
        let (id, _) = self.carried(school, sealed).await?;
        Ok(format!("authz-step:{}:{id}", school.id))
    }

    /// Ends a pending request: it completes once. `None` when it was used already (or is
    /// gone): of two concurrent completions only one gets the request.
    pub async fn take_auth_request(
        &self,
        school: &School,
        sealed: &str,
    ) -> Result<Option<AuthRequest>, Error> {
        let (id, request) = match self.carried(school, sealed).await {
            Ok(found) => found,
            Err(e) if e.code == Code::LoginExpired => return Ok(None),
            Err(e) => return Err(e),
        };
        let used = format!("authz-used:{}:{id}", school.id);
        let ttl = self.settings.authorize_request_ttl;
        let first = self.ephemeral.incr(&used, ttl).await? == 1;
        Ok(first.then_some(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(id: i64) -> School {
        School {
            id,
            code: format!("s{id}"),
            name: "S".into(),
            disabled: false,
            district: false,
            branding: Default::default(),
        }
    }

    fn carried(expires_at: i64) -> Carried {
        Carried {
            school_id: 1,
            id: "rid".into(),
            expires_at,
            request: AuthRequest {
                client_id: "portal".into(),
                redirect_uri: "https://p.example/cb".into(),
                scope: "openid".into(),
                state: Some("x".repeat(2048)),
                nonce: None,
                code_challenge: None,
                prompt: None,
                max_age: None,
                acr_values: vec![],
                login_hint: None,
                ui_locales: None,
                required_level: 0,
                partial: None,
            },
        }
    }

    #[test]
    fn an_id_opens_only_with_its_key_school_and_time() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let sealed = seal(&key, &carried(100)).unwrap();
        assert!(open(&key, &school(1), &sealed, 100).is_some());
        assert!(
            open(&key, &school(2), &sealed, 100).is_none(),
            "another school"
        );
        assert!(open(&key, &school(1), &sealed, 101).is_none(), "expired");
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"x");
        assert!(
            open(&other, &school(1), &sealed, 100).is_none(),
            "another key"
        );
        let (payload, mac) = sealed.split_once('.').unwrap();
        let mut json = B64.decode(payload).unwrap();
        json[10] ^= 1;
        let forged = format!("{}.{mac}", B64.encode(json));
        assert!(open(&key, &school(1), &forged, 100).is_none(), "changed");
        for junk in ["", ".", "a.b", "%%%.%%%"] {
            assert!(open(&key, &school(1), junk, 0).is_none(), "{junk}");
        }
    }
}
