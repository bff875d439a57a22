//! Which login methods the page offers an account (the first step of the login page). The
//! answer has one shape and costs the same reads for every name, known or not, so it does not
//! tell a guesser which accounts exist; and look-ups per address are bounded.

use crate::code::Code;
use crate::error::Error;
use crate::factor::Factor;
use crate::model::School;
use crate::oidc::Provider;
use crate::policy;

/// What the certificate button of the login page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateOffer {
    /// Certificate login is off on this server, or for the account's roles.
    Disabled,
    Registered,
    NotRegistered,
}

impl CertificateOffer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Registered => "registered",
            Self::NotRegistered => "not_registered",
        }
    }
}

/// The methods offered to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Methods {
    pub password: bool,
    pub certificate: CertificateOffer,
}

impl Provider {
    /// The methods the login page offers `username` at `school`, asked from `ip`.
    pub async fn login_methods(
        &self,
        school: &School,
        username: &str,
        ip: &str,
    ) -> Result<Methods, Error> {
        if !self.account_probe_allowed(ip).await? {
            return Err(Error::of(Code::Throttled));
        }
        let dir = &self.directory;
        let user = dir
            .user_by_username(school.id, username)
            .await
            .ok()
            .flatten()
            .filter(|u| !u.disabled);
        // Bindings are read for unknown accounts too (id -1 matches nothing): same work, same
        // timing.
        let user_id = user.as_ref().map_or(-1, |u| u.id);
        let registered = dir
            .bindings_of(school.id, user_id)
            .await
            .is_ok_and(|b| !b.is_empty());
        // One policy read for every account, known or not.
        let policies = dir.login_policy(school.id).await.unwrap_or_default();
        // An unknown account is answered as a teacher without a registered card (the
        // commonest account).
        let roles = match &user {
            Some(u) => u.roles.clone(),
            None => vec!["teacher".to_string()],
        };
        let certificate = match (
            self.verifier.is_some() && policy::allows(&policies, &roles, Factor::Card),
            registered,
        ) {
            (false, _) => CertificateOffer::Disabled,
            (true, true) => CertificateOffer::Registered,
            (true, false) => CertificateOffer::NotRegistered,
        };
        Ok(Methods {
            password: policy::allows(&policies, &roles, Factor::Password),
            certificate,
        })
    }
}
