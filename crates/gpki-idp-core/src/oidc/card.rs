//! Certificate login and registration: a fresh challenge bound to the browser and the login
//! attempt, the card's signature over it checked by the certificate engine, and the binding
//! between certificate and account.

use std::sync::Arc;
use std::time::SystemTime;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::Verified;

use super::Provider;
use crate::code::Code;
use crate::error::Error;
use crate::model::{CertBinding, NewRegistration, School, User};
use crate::token_hash;

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

/// A challenge as the card signs it (the tbs and the nonce of HiPKI's MakeSignature): 32
/// bytes, base64url — its end (Unix seconds), a flag byte, 11 random bytes, and 16 bytes of
/// HMAC over those and what it is bound to (the school, the browser, the purpose), under the
/// service's key. Nothing is stored when it is given, so giving one costs nothing and needs no
/// budget; only its use is marked, once (`chal-used:`).
struct Challenge {
    expires_at: u32,
    /// Given past the address's budget: a failed attempt with it is not audited.
    quiet: bool,
    nonce: [u8; 11],
}

/// What a challenge's MAC covers.
fn challenge_mac(
    key: &hmac::Key,
    school: &School,
    browser: &str,
    purpose: ChallengePurpose<'_>,
    head: &[u8],
) -> [u8; 16] {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(b"gpki-idp card challenge\0");
    ctx.update(&school.id.to_be_bytes());
    // Bound to the browser: a challenge fetched by one browser cannot be answered from another.
    ctx.update(token_hash(browser).as_bytes());
    ctx.update(purpose.fingerprint().as_bytes());
    ctx.update(head);
    let mut mac = [0u8; 16];
    mac.copy_from_slice(&ctx.sign().as_ref()[..16]);
    mac
}

impl Challenge {
    fn head(&self) -> [u8; 16] {
        let mut head = [0u8; 16];
        head[..4].copy_from_slice(&self.expires_at.to_be_bytes());
        head[4] = u8::from(self.quiet);
        head[5..].copy_from_slice(&self.nonce);
        head
    }

    fn seal(&self, key: &hmac::Key, school: &School, browser: &str, p: ChallengePurpose) -> String {
        let head = self.head();
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(&challenge_mac(key, school, browser, p, &head));
        B64.encode(bytes)
    }

    /// The challenge `text` is, when we gave it to this browser for this purpose and it has
    /// not expired.
    fn open(
        key: &hmac::Key,
        school: &School,
        browser: &str,
        purpose: ChallengePurpose<'_>,
        text: &str,
    ) -> Option<Self> {
        let bytes = B64.decode(text).ok().filter(|b| b.len() == 32)?;
        let (head, mac) = bytes.split_at(16);
        let expected = challenge_mac(key, school, browser, purpose, head);
        aws_lc_rs::constant_time::verify_slices_are_equal(&expected, mac).ok()?;
        let expires_at = u32::from_be_bytes(head[..4].try_into().ok()?);
        let mut nonce = [0u8; 11];
        nonce.copy_from_slice(&head[5..]);
        let challenge = Self {
            expires_at,
            quiet: head[4] == 1,
            nonce,
        };
        (i64::from(expires_at) >= crate::now()).then_some(challenge)
    }
}

impl Provider {
    /// A new challenge for `purpose`, bound to `browser` (the browser's CSRF cookie value),
    /// asked for from `ip`. A login challenge is given only for a pending request that exists.
    /// It is never refused for the address's sake (behind a school's NAT address a pupil
    /// could otherwise spend every teacher's challenges); past the address's budget it is
    /// given quiet: a failed attempt with it is counted in the metrics, not audited.
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
        let quiet = !self.challenge_allowed(ip).await?;
        let ttl = self.settings.challenge_ttl.as_secs() as i64;
        let mut nonce = [0u8; 11];
        rand::Rng::fill(&mut rand::rng(), &mut nonce);
        let challenge = Challenge {
            expires_at: u32::try_from(crate::now() + ttl).unwrap_or(u32::MAX),
            quiet,
            nonce,
        };
        let key = self.request_key().await?;
        Ok(challenge.seal(key, school, browser, purpose))
    }

    /// Whether `challenge` was given quiet (past its address's budget) to this browser for
    /// the pending request `request_id`: a failure with it is not audited.
    pub(crate) async fn challenge_is_quiet(
        &self,
        school: &School,
        browser: &str,
        request_id: &str,
        challenge: &str,
    ) -> Result<bool, Error> {
        let key = self.request_key().await?;
        let purpose = ChallengePurpose::Login { request_id };
        let opened = Challenge::open(key, school, browser, purpose, challenge);
        Ok(opened.is_some_and(|c| c.quiet))
    }

    /// Uses a challenge up: it must be one we gave this browser for this purpose, unexpired
    /// and not used before.
    async fn take_challenge(
        &self,
        school: &School,
        browser: &str,
        challenge: &str,
        purpose: ChallengePurpose<'_>,
    ) -> Result<(), Error> {
        let key = self.request_key().await?;
        let invalid = || Error::of(Code::ChallengeInvalid);
        let opened =
            Challenge::open(key, school, browser, purpose, challenge).ok_or_else(invalid)?;
        let used = format!("chal-used:{}:{}", school.id, token_hash(challenge));
        let left = i64::from(opened.expires_at) - crate::now() + 1;
        let ttl = std::time::Duration::from_secs(left.max(1) as u64);
        match self.ephemeral.incr(&used, ttl).await? {
            1 => Ok(()),
            _ => Err(invalid()),
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
