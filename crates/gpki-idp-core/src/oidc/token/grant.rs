//! What a token response is issued for ([`Grant`]) and what it does about refresh tokens
//! ([`RefreshPlan`]), and the rules every grant for a person passes: the account still
//! enabled, the login at the client's minimum acr, admin scopes for admins only.

use crate::error::Error;
use crate::model::{Client, School, User};
use crate::oidc::Provider;

/// Scopes that only a school's admins (GMs) may hold.
pub const ADMIN_SCOPES: [&str; 3] = ["admin", "admin:users", "admin:audit"];

/// What a token response is issued for.
pub(super) struct Grant<'a> {
    pub user: &'a User,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub acr: &'a str,
    pub amr: &'a [String],
    pub session_id: Option<&'a str>,
}

/// What a token response does about refresh tokens.
#[derive(Clone, Copy, Debug)]
pub(super) enum RefreshPlan<'a> {
    None,
    /// A new token of a new family.
    New(&'a str),
    /// The successor of `old_hash` in its family: swapped in one transaction, or given
    /// again to a retry within the client's grace window (see `Directory::rotate_refresh`).
    Rotate {
        family: &'a str,
        old_hash: &'a str,
        successor: &'a str,
    },
}

impl<'a> RefreshPlan<'a> {
    pub fn from(family: Option<&'a str>) -> Self {
        family.map_or(Self::None, Self::New)
    }

    pub fn family(self) -> Option<&'a str> {
        match self {
            Self::None => None,
            Self::New(f) | Self::Rotate { family: f, .. } => Some(f),
        }
    }
}

/// Refuses tokens for a login below the client's minimum acr.
pub(super) fn check_min_acr(client: &Client, acr: &str) -> Result<(), Error> {
    use crate::factor::acr_level;
    let minimum = client.min_acr.as_deref().and_then(acr_level).unwrap_or(0);
    if acr_level(acr).unwrap_or(0) < minimum {
        return Err(Error::invalid_grant(
            "the login's assurance level (acr) is below this client's minimum",
        ));
    }
    Ok(())
}

impl Provider {
    /// The scopes `user` may hold: admin scopes for the school's admins only, `district` for
    /// the district tenant's admins only.
    pub(super) fn entitled_scope(&self, school: &School, user: &User, scope: &str) -> String {
        let admin = user.roles.iter().any(|r| r == "admin");
        scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .filter(|s| match *s {
                "district" => admin && school.district,
                s if ADMIN_SCOPES.contains(&s) => admin,
                _ => true,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The account a grant is for, if it is still enabled.
    pub(super) async fn user(&self, school: &School, id: i64) -> Result<User, Error> {
        match self.directory.user_by_id(school.id, id).await? {
            Some(u) if !u.disabled => Ok(u),
            _ => Err(Error::invalid_grant("the account is disabled or gone")),
        }
    }
}
