//! Which login methods the page offers an account (the first step of the login page, the
//! seed's 確認是否已註冊). The answer about the account itself — its roles' methods, whether
//! its card is registered (the option greyed out with a link to register) — is given only to
//! a browser that has logged in to that account before (its device cookie says so). Anyone
//! else gets what a teacher with a registered card would get, whatever the name, known or
//! not, and the login decides after the proof. Every answer has one shape and costs the same
//! reads, so it does not tell a guesser which accounts exist or which have a card; and
//! look-ups per address are bounded.

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
    /// The card may be tried (a registered card, or an account this browser does not know).
    Offered,
    /// The account has no registered card (told only to a browser that knows the account).
    NotRegistered,
}

impl CertificateOffer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Offered => "offered",
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
    /// The methods the login page offers `username` at `school`, asked from `ip` by a browser
    /// with the device cookie `device`.
    pub async fn login_methods(
        &self,
        school: &School,
        username: &str,
        ip: &str,
        device: Option<&str>,
    ) -> Result<Methods, Error> {
        let dir = &self.directory;
        // Past the address's budget the account is not read and the answer is the one every
        // stranger gets: a refusal here would stop the login page at its first step, and a
        // pupil behind the school's NAT address could spend the budget for every teacher
        // there (class 5, lockout).
        if !self.account_probe_allowed(ip).await? {
            let policies = dir.login_policy(school.id).await.unwrap_or_default();
            return Ok(self.offer(&policies, &["teacher".to_string()], true));
        }
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
        let key = self.device_key().await?;
        let known = key
            .known(device, school.id, &username.to_lowercase(), crate::now())
            .is_some();
        // A browser that does not know the account is answered as for a teacher with a
        // registered card (the commonest account), whoever the name is.
        let (roles, registered) = match (&user, known) {
            (Some(u), true) => (u.roles.clone(), registered),
            _ => (vec!["teacher".to_string()], true),
        };
        Ok(self.offer(&policies, &roles, registered))
    }

    /// What the page offers an account of `roles` under the school's `policies`, whose card
    /// is `registered` or not.
    fn offer(
        &self,
        policies: &[policy::RolePolicy],
        roles: &[String],
        registered: bool,
    ) -> Methods {
        let certificate = match (
            self.verifier.is_some() && policy::allows(policies, roles, Factor::Card),
            registered,
        ) {
            (false, _) => CertificateOffer::Disabled,
            (true, true) => CertificateOffer::Offered,
            (true, false) => CertificateOffer::NotRegistered,
        };
        Methods {
            password: policy::allows(policies, roles, Factor::Password),
            certificate,
        }
    }
}
