//! A logged-in teacher's own certificates (自然人憑證管理): the account of a session cookie,
//! its registered certificates, registering the card and removing a certificate, each change
//! written with its audit event in one transaction. Every call takes the browser's session cookie and finds the account itself.

use serde_json::json;

use super::event::audit_event;
use crate::audit::{Audit, AuditEvent, Origin};
use crate::code::Code;
use crate::error::Error;
use crate::model::{CertBinding, NewRegistration, School, User};
use crate::oidc::card::{CardSignature, ChallengePurpose};
use crate::oidc::Provider;
use crate::store::StoreError;

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
    /// (註冊自然人憑證): the enrollment code (when the school requires one), the binding and
    /// the audit event in one transaction. A registration that cannot be audited is not kept;
    /// a refused one is audited alone.
    pub async fn register_certificate(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        registration: &Registration<'_>,
    ) -> Result<CertBinding, Error> {
        let user = self.session_account(school, sid).await?;
        let event = |outcome: &str| {
            let name = &user.username;
            audit_event(origin, school, "certificate.register", outcome, name, None)
        };
        let stored = match self
            .check_registration_of(school, &user, origin, registration)
            .await
        {
            Ok(checked) => self.store_registration(checked, event("success")).await,
            Err(refused) => Err(refused),
        };
        if let Err(refused) = &stored {
            // Shown as it is, whether or not its audit could be written.
            let _ = self.record(event(refused.code.as_str())).await;
        }
        stored
    }

    /// The registration as the school's rules and the card allow it, ready to store.
    async fn check_registration_of(
        &self,
        school: &School,
        user: &User,
        origin: &Origin,
        r: &Registration<'_>,
    ) -> Result<NewRegistration, Error> {
        let ip = origin.ip.as_deref().and_then(|ip| ip.parse().ok());
        let (browser, code) = (r.browser, r.enrollment_code);
        self.check_registration(school, browser, user, r.challenge, r.card, ip, code)
            .await
    }

    /// Writes a checked registration with its success event, whose detail names the card.
    async fn store_registration(
        &self,
        checked: NewRegistration,
        mut success: AuditEvent,
    ) -> Result<CertBinding, Error> {
        let audit = Audit::of(move |b: &CertBinding| {
            success.detail =
                json!({"serial": b.serial_hex, "issuer": b.issuer_dn, "sha256": b.cert_sha256});
            success
        });
        match self.directory.register_certificate(checked, audit).await {
            Ok(Some(binding)) => Ok(binding),
            Ok(None) => Err(Error::of(Code::EnrollmentCodeInvalid)),
            Err(StoreError::Conflict(_)) => Err(Error::of(Code::CertificateAlreadyRegistered)),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the certificate `binding_id` of the account of `sid`, with its audit event;
    /// `not_found` when the account has no such certificate.
    pub async fn remove_certificate(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: &Origin,
        binding_id: i64,
    ) -> Result<(), Error> {
        let user = self.session_account(school, sid).await?;
        let name = &user.username;
        let mut event = audit_event(origin, school, "certificate.remove", "success", name, None);
        event.detail = json!({"binding_id": binding_id});
        let audit = Audit::event(event);
        if !self
            .directory
            .remove_binding(school.id, user.id, binding_id, audit)
            .await?
        {
            return Err(Error::not_found("no such certificate"));
        }
        Ok(())
    }
}
