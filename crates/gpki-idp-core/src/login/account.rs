//! A logged-in teacher's own certificates (自然人憑證管理): the account of a session cookie,
//! its registered certificates, registering the card and removing a certificate, each change
//! audited.

use serde_json::json;

use super::event::audit_event;
use crate::audit::Origin;
use crate::model::{CertBinding, School, User};
use crate::oidc::card::{CardError, CardSignature};
use crate::oidc::Provider;
use crate::OAuthError;

/// A card registration: the browser's challenge and the card's answer, and the school's
/// registration conditions as the request meets them.
pub struct Registration<'a> {
    pub browser: &'a str,
    pub challenge: &'a str,
    pub card: &'a CardSignature<'a>,
    pub enrollment_code: Option<&'a str>,
}

impl Provider {
    /// The enabled account logged in with the session cookie `sid`, if any.
    pub async fn session_account(&self, school: &School, sid: &str) -> Option<User> {
        let session = self.session(school, sid).await.ok().flatten()?;
        match self.directory.user_by_id(school.id, session.user_id).await {
            Ok(Some(u)) if !u.disabled => Some(u),
            _ => None,
        }
    }

    /// The certificates registered to `user`.
    pub async fn certificates_of(
        &self,
        school: &School,
        user: &User,
    ) -> Result<Vec<CertBinding>, OAuthError> {
        Ok(self.directory.bindings_of(school.id, user.id).await?)
    }

    /// Registers the card that signed the challenge to `user` (註冊自然人憑證), and audits
    /// the attempt. A registration that cannot be audited is refused.
    pub async fn register_certificate(
        &self,
        school: &School,
        user: &User,
        origin: &Origin,
        registration: &Registration<'_>,
    ) -> Result<CertBinding, CardError> {
        let outcome = self
            .register_card(
                school,
                registration.browser,
                user,
                registration.challenge,
                registration.card,
                origin.ip.as_deref().and_then(|ip| ip.parse().ok()),
                registration.enrollment_code,
            )
            .await;
        let code = outcome.as_ref().map_or_else(|e| e.code(), |_| "success");
        let mut event = audit_event(
            origin,
            school,
            "certificate.register",
            code,
            &user.username,
            None,
        );
        if let Ok(b) = &outcome {
            event.detail =
                json!({"serial": b.serial_hex, "issuer": b.issuer_dn, "sha256": b.cert_sha256});
        }
        match (self.record(event).await, outcome) {
            (Ok(()), outcome) => outcome,
            (Err(e), Ok(_)) => Err(CardError::Store(e)),
            // A refusal is shown as it is whether or not its audit could be written.
            (Err(_), Err(refused)) => Err(refused),
        }
    }

    /// Removes the certificate `binding_id` of `user`; `false` when the account has no such
    /// certificate. Audited; a removal that cannot be audited is reported as a failure.
    pub async fn remove_certificate(
        &self,
        school: &School,
        user: &User,
        origin: &Origin,
        binding_id: i64,
    ) -> Result<bool, OAuthError> {
        if !self
            .directory
            .remove_binding(school.id, user.id, binding_id)
            .await?
        {
            return Ok(false);
        }
        let mut event = audit_event(
            origin,
            school,
            "certificate.remove",
            "success",
            &user.username,
            None,
        );
        event.detail = json!({"binding_id": binding_id});
        self.record(event).await?;
        Ok(true)
    }
}
