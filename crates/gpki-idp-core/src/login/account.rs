//! A logged-in teacher's own certificates (自然人憑證管理): the account of a session cookie,
//! its registered certificates, registering the card and removing a certificate, each change
//! audited. Every call takes the browser's session cookie and finds the account itself.

use serde_json::json;

use super::event::audit_event;
use crate::audit::Origin;
use crate::code::Code;
use crate::error::Error;
use crate::model::{CertBinding, School, User};
use crate::oidc::card::{CardSignature, ChallengePurpose};
use crate::oidc::Provider;

/// A card registration: the browser's challenge and the card's answer, and the school's
/// registration conditions as the request meets them.
pub struct Registration<'a> {
    pub browser: &'a str,
    pub challenge: &'a str,
    pub card: &'a CardSignature<'a>,
    pub enrollment_code: Option<&'a str>,
}

impl Provider {
    /// The enabled account logged in with the session cookie `sid`.
    pub async fn session_account(&self, school: &School, sid: Option<&str>) -> Result<User, Error> {
        let not_logged_in = || Error::of(Code::NotLoggedIn);
        let session = self
            .session(school, sid.ok_or_else(not_logged_in)?)
            .await?
            .ok_or_else(not_logged_in)?;
        match self
            .directory
            .user_by_id(school.id, session.user_id)
            .await?
        {
            Some(u) if !u.disabled => Ok(u),
            _ => Err(not_logged_in()),
        }
    }

    /// The account of `sid` and the certificates registered to it.
    pub async fn own_certificates(
        &self,
        school: &School,
        sid: Option<&str>,
    ) -> Result<(User, Vec<CertBinding>), Error> {
        let user = self.session_account(school, sid).await?;
        let bindings = self.directory.bindings_of(school.id, user.id).await?;
        Ok((user, bindings))
    }

    /// A challenge for the account of `sid` to register a card with, bound to `browser`,
    /// asked for from `ip`.
    pub async fn registration_challenge(
        &self,
        school: &School,
        sid: Option<&str>,
        browser: &str,
        ip: &str,
    ) -> Result<String, Error> {
        let user = self.session_account(school, sid).await?;
        let purpose = ChallengePurpose::Register { user_id: user.id };
        self.card_challenge(school, browser, purpose, ip).await
    }

    /// Registers the card that signed the challenge to the account of `sid`
    /// (註冊自然人憑證), and audits the attempt. A registration that cannot be audited is
    /// refused.
    pub async fn register_certificate(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        registration: &Registration<'_>,
    ) -> Result<CertBinding, Error> {
        let user = self.session_account(school, sid).await?;
        let outcome = self
            .check_registration(
                school,
                registration.browser,
                &user,
                registration.challenge,
                registration.card,
                origin.ip.as_deref().and_then(|ip| ip.parse().ok()),
                registration.enrollment_code,
            )
            .await;
        let outcome = match outcome {
            Ok(binding) if binding.id != 0 => Ok(binding),
            Ok(binding) => self
                .directory
                .add_binding(binding)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        let code = outcome
            .as_ref()
            .map_or_else(|e| e.code.as_str(), |_| "success");
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
            (Err(e), Ok(_)) => Err(e),
            // A refusal is shown as it is whether or not its audit could be written.
            (Err(_), Err(refused)) => Err(refused),
        }
    }

    /// Removes the certificate `binding_id` of the account of `sid`; `not_found` when the
    /// account has no such certificate. Audited; a removal that cannot be audited is
    /// reported as a failure.
    pub async fn remove_certificate(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        binding_id: i64,
    ) -> Result<(), Error> {
        let user = self.session_account(school, sid).await?;
        if !self
            .directory
            .remove_binding(school.id, user.id, binding_id)
            .await?
        {
            return Err(Error::not_found("no such certificate"));
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
        self.record(event).await
    }
}
