//! Certificate login and registration: a fresh challenge bound to the browser and the login
//! attempt, the card's signature over it checked by the certificate engine, and the binding
//! between certificate and account.

use std::sync::Arc;
use std::time::SystemTime;

use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::Verified;
use serde::{Deserialize, Serialize};

use super::Provider;
use crate::code::Code;
use crate::error::Error;
use crate::model::{CertBinding, NewRegistration, School, User};
use crate::{random_token, token_hash};

/// What a challenge may be signed for. A challenge is bound to one purpose and one browser,
/// and answers nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengePurpose<'a> {
    /// A certificate login at the pending request with this id.
    Login { request_id: &'a str },
    /// Registering a card to the account with this id.
    Register { user_id: i64 },
}

impl ChallengePurpose<'_> {
    /// A fixed-size fingerprint of the purpose: what the stored challenge keeps, whatever the
    /// length of the request id a caller sends.
    fn fingerprint(self) -> String {
        match self {
            Self::Login { request_id } => token_hash(&format!("login:{request_id}")),
            Self::Register { user_id } => token_hash(&format!("register:{user_id}")),
        }
    }
}

/// What a stored challenge is bound to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ChallengeBinding {
    /// [`ChallengePurpose::fingerprint`].
    purpose: String,
}

/// What 環境檢測 (the diagnostics page) says of a card's certificate that would do for a
/// login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    pub subject_cn: Option<String>,
    /// RFC 3339.
    pub not_after: String,
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
    /// A new challenge for `purpose`, bound to `browser` (the browser's CSRF cookie value),
    /// asked for from `ip`. A login challenge is given only for a pending request that exists,
    /// and every address has a budget of them.
    pub async fn card_challenge(
        &self,
        school: &School,
        browser: &str,
        purpose: ChallengePurpose<'_>,
        ip: &str,
    ) -> Result<String, Error> {
        if self.verifier.is_none() {
            return Err(Error::of(Code::CertificateLoginDisabled));
        }
        if let ChallengePurpose::Login { request_id } = purpose {
            self.pending_request(school, request_id).await?;
        }
        self.challenge_allowed(ip).await?;
        let challenge = random_token(32);
        let binding = ChallengeBinding {
            purpose: purpose.fingerprint(),
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
        purpose: ChallengePurpose<'_>,
    ) -> Result<(), Error> {
        let binding: Option<ChallengeBinding> = self
            .take_json(&challenge_key(school, browser, challenge))
            .await?;
        match binding {
            Some(b) if b.purpose == purpose.fingerprint() => Ok(()),
            _ => Err(Error::of(Code::ChallengeInvalid)),
        }
    }

    /// Verifies the card's signature over `challenge` (off the async runtime: revocation may
    /// go to the network).
    async fn verify_card(
        &self,
        challenge: &str,
        card: &CardSignature<'_>,
    ) -> Result<Verified, Error> {
        let verifier: Arc<gpki_verify::Verifier> = self
            .verifier
            .clone()
            .ok_or_else(|| Error::of(Code::CertificateLoginDisabled))?;
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
        .map_err(|_| Error::server_error())?
        .map_err(|e| Error::certificate(&e))
    }

    /// The card's proof at the pending request `request_id`: the account `username`, or,
    /// when it is empty, the account the certificate is registered to (a certificate binds
    /// to one account per school, so the card alone names it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_card(
        &self,
        school: &School,
        browser: &str,
        request_id: &str,
        username: &str,
        challenge: &str,
        card: &CardSignature<'_>,
        ip: &str,
    ) -> Result<(User, String), Error> {
        let reserved = self.reserve_card_attempt(school, ip).await?;
        let purpose = ChallengePurpose::Login { request_id };
        self.take_challenge(school, browser, challenge, purpose)
            .await?;
        let verified = self.verify_card(challenge, card).await?;
        let sha256 = &verified.profile.sha256;
        let user = if username.trim().is_empty() {
            self.user_of_cert(school, sha256).await?
        } else {
            self.directory
                .user_bound_to_cert(school.id, username, sha256)
                .await?
        };
        match user {
            Some(u) if !u.disabled => {
                self.attempt_was_right(reserved).await?;
                Ok((u, sha256.clone()))
            }
            _ => Err(Error::of(Code::CertificateNotRegistered)),
        }
    }

    /// The account a certificate is registered to at this school.
    async fn user_of_cert(&self, school: &School, sha256: &str) -> Result<Option<User>, Error> {
        let Some(binding) = self.directory.binding_by_cert(school.id, sha256).await? else {
            return Ok(None);
        };
        Ok(self
            .directory
            .user_by_id(school.id, binding.user_id)
            .await?)
    }

    /// Checks a card registration of `user` within the school's registration rules (campus
    /// ranges, one-time enrollment code): the card that signed `challenge`, as the binding
    /// to store, with the enrollment code to use up in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_registration(
        &self,
        school: &School,
        browser: &str,
        user: &User,
        challenge: &str,
        card: &CardSignature<'_>,
        client_ip: Option<std::net::IpAddr>,
        enrollment_code: Option<&str>,
    ) -> Result<NewRegistration, Error> {
        let rules = self.directory.registration_rules(school.id).await?;
        if !rules.allows_address(client_ip) {
            return Err(Error::of(Code::RegistrationOffCampus));
        }
        let purpose = ChallengePurpose::Register { user_id: user.id };
        self.take_challenge(school, browser, challenge, purpose)
            .await?;
        let verified = self.verify_card(challenge, card).await?;
        let holder = verified.profile.subject_cn.as_deref().unwrap_or_default();
        let code = enrollment_code_needed(
            rules.require_enrollment_code,
            crate::holder::same_person(holder, &user.display_name),
            enrollment_code,
        )?;
        Ok(NewRegistration {
            binding: self.new_binding(school, user, verified).await?,
            enrollment_code: code,
            at: crate::now(),
        })
    }

    /// 環境檢測: whether the card's certificate (`certb64` as the local signing service gives
    /// it) chains to GRCA, is valid now and not revoked, without logging in. Off the async
    /// runtime: revocation may go to the network.
    pub async fn diagnose_certificate(&self, certificate: &str) -> Result<Diagnosis, Error> {
        let verifier = self
            .verifier
            .clone()
            .ok_or_else(|| Error::of(Code::CertificateLoginDisabled))?;
        let cert = certificate.as_bytes().to_vec();
        let checked = tokio::task::spawn_blocking(move || {
            let der = gpki_verify::signature::decode_certificate(&cert)?;
            verifier.check_certificate(&der, SystemTime::now())
        })
        .await
        .map_err(|_| Error::server_error())?
        .map_err(|e| Error::certificate(&e))?;
        Ok(Diagnosis {
            subject_cn: checked.profile.subject_cn,
            not_after: checked.profile.not_after,
        })
    }

    /// The binding of a verified card to `user`; the one stored already when the card is
    /// bound to this account (`id` set), refused when it is bound to another.
    async fn new_binding(
        &self,
        school: &School,
        user: &User,
        verified: Verified,
    ) -> Result<CertBinding, Error> {
        let p = verified.profile;
        if let Some(existing) = self.directory.binding_by_cert(school.id, &p.sha256).await? {
            return if existing.user_id == user.id {
                Ok(existing)
            } else {
                Err(Error::of(Code::CertificateAlreadyRegistered))
            };
        }
        Ok(CertBinding {
            id: 0,
            school_id: school.id,
            user_id: user.id,
            cert_sha256: p.sha256,
            serial_hex: p.serial_hex,
            issuer_dn: p.issuer_dn,
            subject_cn: p.subject_cn.unwrap_or_default(),
            not_after: p.not_after,
        })
    }
}

/// The enrollment code a registration must use up (its hash), if any: when the school asks for
/// one always, or when the card's holder is not the account's person (a password alone must
/// not bind a stranger's card: the GM's code says the binding is meant).
fn enrollment_code_needed(
    always: bool,
    same_person: bool,
    given: Option<&str>,
) -> Result<Option<String>, Error> {
    let given = given.map(str::trim).filter(|c| !c.is_empty());
    match (always || !same_person, given) {
        (false, _) => Ok(None),
        (true, Some(code)) => Ok(Some(token_hash(code))),
        (true, None) if always => Err(Error::of(Code::EnrollmentCodeInvalid)),
        (true, None) => Err(Error::of(Code::CardHolderMismatch)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strangers_card_needs_the_gms_code() {
        assert_eq!(enrollment_code_needed(false, true, None), Ok(None));
        assert_eq!(enrollment_code_needed(false, true, Some("c")), Ok(None));
        let mismatch = enrollment_code_needed(false, false, Some(" ")).unwrap_err();
        assert_eq!(mismatch.code, Code::CardHolderMismatch);
        assert_eq!(
            enrollment_code_needed(false, false, Some(" c ")),
            Ok(Some(token_hash("c")))
        );
        let always = enrollment_code_needed(true, true, None).unwrap_err();
        assert_eq!(always.code, Code::EnrollmentCodeInvalid);
    }
}
