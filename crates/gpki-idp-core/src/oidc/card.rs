//! Certificate login and registration: a fresh challenge bound to the browser and the login
//! attempt, the card's signature over it checked by the certificate engine, and the binding
//! between certificate and account.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gpki_verify::{Expected, SignatureInput, Verified};
use serde::{Deserialize, Serialize};

use super::step::Proved;
use super::Provider;
use crate::model::{CertBinding, School, User};
use crate::{random_token, token_hash, OAuthError};

/// The default time a challenge may be signed (the card PIN prompt included); see
/// [`super::ProviderSettings::challenge_ttl`].
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// RFC 8176 methods of a card login: smart card, hardware key, PIN.
pub const CARD_AMR: [&str; 3] = ["sc", "hwk", "pin"];

/// Why a card login or registration failed.
#[derive(Debug)]
pub enum CardError {
    /// The certificate engine refused the signature or certificate.
    Verify(gpki_verify::Error),
    /// No such challenge for this browser and attempt: expired, used, or forged.
    Challenge,
    /// The certificate is not bound to the account (or the account does not exist: the
    /// answer is the same).
    NotBound,
    /// The certificate is already bound to an account of this school.
    AlreadyBound,
    /// Certificate login is not configured on this server.
    Disabled,
    /// The school's policy does not let this account's roles log in with a certificate.
    NotAllowed,
    /// Registration from outside the school's campus network ranges.
    OffCampus,
    /// The school requires a one-time enrollment code and none valid was given.
    EnrollmentCode,
    Store(OAuthError),
}

impl CardError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::Challenge => "challenge_invalid",
            Self::NotBound => "certificate_not_registered",
            Self::AlreadyBound => "certificate_already_registered",
            Self::Disabled => "certificate_login_disabled",
            Self::NotAllowed => "method_not_allowed",
            Self::OffCampus => "registration_off_campus",
            Self::EnrollmentCode => "enrollment_code_invalid",
            Self::Store(e) => e.code,
        }
    }

    /// (zh-TW, English) messages for the user.
    pub fn messages(&self) -> (&'static str, &'static str) {
        match self {
            Self::Verify(e) => (e.message_zh(), e.message_en()),
            Self::Challenge => ("本次登入的驗證碼已失效，請重新整理頁面後再試。", "This login's challenge has expired or was used. Reload the page and try again."),
            Self::NotBound => (
                "此帳號尚未註冊這張自然人憑證。請先以密碼登入，至「個人資料修改 → 自然人憑證管理」註冊。",
                "This certificate is not registered for this account. Log in with your password and register it under Personal settings → Citizen certificate.",
            ),
            Self::AlreadyBound => ("這張自然人憑證已註冊於本校的其他帳號。", "This certificate is already registered to another account of this school."),
            Self::Disabled => ("本系統未啟用自然人憑證登入。", "Certificate login is not enabled on this server."),
            Self::OffCampus => ("請於校內網路註冊自然人憑證。", "Register your citizen certificate from the school's network."),
            Self::EnrollmentCode => ("註冊碼無效、已使用或已過期，請向學校管理者索取。", "The enrollment code is invalid, used or expired. Ask the school administrator for one."),
            Self::NotAllowed => ("學校的資安設定不允許您的身份以自然人憑證登入。", "Your school's security settings do not allow your role to log in with a certificate."),
            Self::Store(_) => ("系統暫時無法處理，請稍後再試。", "The system cannot handle this right now. Please try again later."),
        }
    }
}

impl From<OAuthError> for CardError {
    fn from(e: OAuthError) -> Self {
        Self::Store(e)
    }
}

/// What a challenge is bound to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ChallengeBinding {
    /// `login:{request id}` or `register:{user id}`.
    purpose: String,
}

/// The card's answer, as the page forwards it from the local signing service.
pub struct CardSignature<'a> {
    /// `signature` (base64 PKCS#7).
    pub signature: &'a str,
    /// `certb64`, when the service returned it.
    pub certificate: Option<&'a str>,
}

fn challenge_key(school: &School, browser: &str, challenge: &str) -> String {
    // Bound to the browser: a challenge fetched by one browser cannot be answered from another.
    format!(
        "chal:{}:{}:{}",
        school.id,
        token_hash(browser),
        token_hash(challenge)
    )
}

impl Provider {
    /// A new challenge for `purpose`, bound to `browser` (the browser's CSRF cookie value).
    pub async fn card_challenge(
        &self,
        school: &School,
        browser: &str,
        purpose: &str,
    ) -> Result<String, CardError> {
        if self.verifier.is_none() {
            return Err(CardError::Disabled);
        }
        let challenge = random_token(32);
        let binding = ChallengeBinding {
            purpose: purpose.to_string(),
        };
        self.put_json(
            &challenge_key(school, browser, &challenge),
            &binding,
            self.settings.challenge_ttl,
        )
        .await?;
        Ok(challenge)
    }

    /// Consumes a challenge; it must exist for this browser and purpose.
    async fn take_challenge(
        &self,
        school: &School,
        browser: &str,
        challenge: &str,
        purpose: &str,
    ) -> Result<(), CardError> {
        let binding: Option<ChallengeBinding> = self
            .take_json(&challenge_key(school, browser, challenge))
            .await?;
        match binding {
            Some(b) if b.purpose == purpose => Ok(()),
            _ => Err(CardError::Challenge),
        }
    }

    /// Verifies the card's signature over `challenge` (off the async runtime: revocation may
    /// go to the network).
    async fn verify_card(
        &self,
        challenge: &str,
        card: &CardSignature<'_>,
    ) -> Result<Verified, CardError> {
        let verifier: Arc<gpki_verify::Verifier> =
            self.verifier.clone().ok_or(CardError::Disabled)?;
        let (signature, certificate, content) = (
            card.signature.as_bytes().to_vec(),
            card.certificate.map(|c| c.as_bytes().to_vec()),
            challenge.as_bytes().to_vec(),
        );
        tokio::task::spawn_blocking(move || {
            let input = SignatureInput::Pkcs7 {
                signature: &signature,
                certificate: certificate.as_deref(),
            };
            let expected = Expected {
                content: Some(&content),
                nonce: Some(&content),
            };
            verifier.verify(&input, &expected, SystemTime::now())
        })
        .await
        .map_err(|_| CardError::Store(OAuthError::server_error()))?
        .map_err(CardError::Verify)
    }

    /// Certificate login for the pending request `request_id`: of `username`, or, when it is
    /// empty, of the account the certificate is registered to (a certificate binds to one
    /// account per school, so the card alone names it).
    pub async fn card_login(
        &self,
        school: &School,
        browser: &str,
        request_id: &str,
        username: &str,
        challenge: &str,
        card: &CardSignature<'_>,
    ) -> Result<Proved, CardError> {
        self.take_challenge(school, browser, challenge, &format!("login:{request_id}"))
            .await?;
        let verified = self.verify_card(challenge, card).await?;
        let sha256 = &verified.profile.sha256;
        let user = if username.trim().is_empty() {
            self.user_of_cert(school, sha256).await?
        } else {
            self.directory
                .user_bound_to_cert(school.id, username, sha256)
                .await
                .map_err(|e| CardError::Store(e.into()))?
        };
        let user = match user {
            Some(u) if !u.disabled => u,
            _ => return Err(CardError::NotBound),
        };
        let policies = self
            .directory
            .login_policy(school.id)
            .await
            .map_err(|e| CardError::Store(e.into()))?;
        if !crate::policy::allows(&policies, &user.roles, crate::policy::Method::Certificate) {
            return Err(CardError::NotAllowed);
        }
        Ok(Proved { user, policies })
    }

    /// The account a certificate is registered to at this school.
    async fn user_of_cert(&self, school: &School, sha256: &str) -> Result<Option<User>, CardError> {
        let store = |e: crate::store::StoreError| CardError::Store(e.into());
        let Some(binding) = self
            .directory
            .binding_by_cert(school.id, sha256)
            .await
            .map_err(store)?
        else {
            return Ok(None);
        };
        self.directory
            .user_by_id(school.id, binding.user_id)
            .await
            .map_err(store)
    }

    /// Binds the card that signed `challenge` to `user`, within the school's registration
    /// rules (campus ranges, one-time enrollment code).
    #[allow(clippy::too_many_arguments)]
    pub async fn register_card(
        &self,
        school: &School,
        browser: &str,
        user: &User,
        challenge: &str,
        card: &CardSignature<'_>,
        client_ip: Option<std::net::IpAddr>,
        enrollment_code: Option<&str>,
    ) -> Result<CertBinding, CardError> {
        let rules = self
            .directory
            .registration_rules(school.id)
            .await
            .map_err(|e| CardError::Store(e.into()))?;
        if !rules.allows_address(client_ip) {
            return Err(CardError::OffCampus);
        }
        self.take_challenge(school, browser, challenge, &format!("register:{}", user.id))
            .await?;
        let verified = self.verify_card(challenge, card).await?;
        if rules.require_enrollment_code {
            let code = enrollment_code
                .filter(|c| !c.is_empty())
                .ok_or(CardError::EnrollmentCode)?;
            let hash = token_hash(code.trim());
            let used = self
                .directory
                .use_enrollment_code(school.id, user.id, &hash, crate::now())
                .await
                .map_err(|e| CardError::Store(e.into()))?;
            if !used {
                return Err(CardError::EnrollmentCode);
            }
        }
        self.bind(school, user, verified).await
    }

    /// Issues a one-time enrollment code for `user`, valid for `ttl`; returns its id and the code.
    pub async fn issue_enrollment_code(
        &self,
        school: &School,
        user: &User,
        ttl: Duration,
    ) -> Result<(i64, String), OAuthError> {
        let code = random_token(9);
        let expires = crate::now() + ttl.as_secs() as i64;
        let id = self
            .directory
            .add_enrollment_code(school.id, user.id, &token_hash(&code), expires)
            .await?;
        Ok((id, code))
    }

    async fn bind(
        &self,
        school: &School,
        user: &User,
        verified: Verified,
    ) -> Result<CertBinding, CardError> {
        let p = verified.profile;
        if let Some(existing) = self
            .directory
            .binding_by_cert(school.id, &p.sha256)
            .await
            .map_err(|e| CardError::Store(e.into()))?
        {
            return if existing.user_id == user.id {
                Ok(existing)
            } else {
                Err(CardError::AlreadyBound)
            };
        }
        let binding = CertBinding {
            id: 0,
            school_id: school.id,
            user_id: user.id,
            cert_sha256: p.sha256,
            serial_hex: p.serial_hex,
            issuer_dn: p.issuer_dn,
            subject_cn: p.subject_cn.unwrap_or_default(),
            not_after: p.not_after,
        };
        self.directory
            .add_binding(binding)
            .await
            .map_err(|e| CardError::Store(e.into()))
    }
}
