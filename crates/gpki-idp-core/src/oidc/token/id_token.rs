//! The ID token's claims (OIDC Core §2), signed by the school's key for the client's
//! algorithm when a grant includes `openid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Value};

use super::grant::Grant;
use crate::model::{Client, School};
use crate::oidc::session::public_sid;
use crate::oidc::Provider;

impl Provider {
    pub(super) fn id_token_claims(
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
            "at_hash": at_hash(access_token),
            "name": grant.user.display_name,
            "preferred_username": grant.user.username,
            "school": school.code,
            "roles": grant.user.roles,
        });
        if let Some(nonce) = grant.nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(session) = grant.session_id {
            claims["sid"] = json!(public_sid(session));
        }
        claims
    }
}

/// OIDC at_hash: left half of the SHA-256 of the access token (both RS256 and ES256 use it).
fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    B64URL.encode(&digest.as_ref()[..16])
}
