//! The admin API's domain: who is calling (a bearer token of this IdP), which school they may
//! see, which scopes they hold, and the changes they may make, each audited with before and
//! after. One module per resource: [`records`] (schools), [`settings`] (login policy,
//! registration rules, roles), [`users`] and their [`import`], [`certificates`] (bindings and
//! enrollment codes), [`clients`], [`sessions`], [`audit_log`], [`keys`], [`branding`], and
//! [`onboarding`] of a district's schools from a [`school_list`]. The HTTP layer parses a
//! request into the typed input these modules define and calls one function; every rule
//! (formats, lengths, allowed values, who may do what) is checked here.

pub mod audit_log;
pub mod branding;
pub mod certificates;
pub mod clients;
pub mod import;
pub mod keys;
pub mod listing;
pub mod onboarding;
pub mod records;
pub mod school_list;
pub mod sessions;
pub mod settings;
pub mod upload;
pub mod users;

pub use listing::{ListQuery, Listing, PageRequest};

use serde_json::{json, Value};

use crate::audit::{AuditEvent, Origin};
use crate::error::Error;
use crate::model::School;
use crate::oidc::Provider;

/// Scope of a school's GM (or a service client a GM granted it).
pub const SCOPE_ADMIN: &str = "admin";
/// Users, their import and roles only.
pub const SCOPE_USERS: &str = "admin:users";
/// Reading the audit log only.
pub const SCOPE_AUDIT: &str = "admin:audit";
/// District operators: every school, school management, key rotation.
pub const SCOPE_DISTRICT: &str = "district";

/// The caller of an admin route, from its bearer token.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The school whose issuer issued the token.
    pub school: School,
    /// The account name, or `client:{client_id}` for a service client.
    pub actor: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Where the request came from, for the audit log.
    pub origin: Origin,
}

impl Principal {
    /// A district operator: a `district` scope from the district tenant.
    pub fn is_district(&self) -> bool {
        self.school.district && self.scopes.iter().any(|s| s == SCOPE_DISTRICT)
    }

    fn admin_scopes(&self) -> impl Iterator<Item = &String> {
        self.scopes.iter().filter(|s| {
            [SCOPE_ADMIN, SCOPE_USERS, SCOPE_AUDIT, SCOPE_DISTRICT].contains(&s.as_str())
        })
    }

    /// Refuses unless the caller holds one of `accepted` (district holds them all).
    pub fn require(&self, accepted: &[&str]) -> Result<(), Error> {
        let held = self.is_district()
            || self
                .admin_scopes()
                .any(|s| s != SCOPE_DISTRICT && accepted.contains(&s.as_str()));
        if held {
            Ok(())
        } else {
            Err(Error::insufficient_scope(format!(
                "this operation needs one of the scopes: {}",
                accepted.join(", ")
            )))
        }
    }

    /// `GET /me`: who the caller is, when it holds any admin scope.
    pub fn me(&self) -> Result<Value, Error> {
        self.require_any()?;
        Ok(
            json!({"school": self.school.code, "scopes": self.scopes, "actor": self.actor, "district": self.is_district()}),
        )
    }

    /// Any admin scope at all (for `GET /me`).
    pub fn require_any(&self) -> Result<(), Error> {
        if self.admin_scopes().next().is_some() {
            Ok(())
        } else {
            Err(Error::insufficient_scope(
                "the token carries no admin scope",
            ))
        }
    }
}

/// Validation failures of admin input are `invalid_request` with what is wrong.
pub fn invalid(what: impl Into<String>) -> Error {
    Error::invalid_request(what)
}

/// A strong entity tag over a JSON value (quotes included, as sent in `ETag`).
pub fn etag(value: &Value) -> String {
    let digest = crate::token_hash(&value.to_string());
    format!("\"{}\"", &digest[..32])
}

/// Whether an `If-Match` header (when sent) matches `current`.
pub fn if_match(header: Option<&str>, current: &str) -> Result<(), Error> {
    match header.map(str::trim) {
        None | Some("*") => Ok(()),
        Some(tags) if tags.split(',').any(|t| t.trim() == current) => Ok(()),
        Some(_) => Err(Error::precondition_failed(
            "the resource changed since it was read (ETag does not match If-Match)",
        )),
    }
}

/// A GM's own page of the school, whose changes go through the admin API's services with
/// the GM as actor and the page as the audit log's client (no OAuth client is involved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GmPage {
    /// 資安選項設定.
    Security,
    /// 學校識別設定.
    Branding,
}

impl GmPage {
    fn client_id(self) -> &'static str {
        match self {
            Self::Security => "page:security",
            Self::Branding => "page:branding",
        }
    }
}

impl Provider {
    /// The caller of a GM page: the account logged in with `sid`, if it is the school's
    /// administrator, holding the `admin` scope for its own school.
    pub async fn page_principal(
        &self,
        school: &School,
        sid: Option<&str>,
        origin: Origin,
        page: GmPage,
    ) -> Result<Principal, Error> {
        let user = self.session_account(school, sid).await?;
        if !user.roles.iter().any(|r| r == "admin") {
            return Err(Error::of(crate::code::Code::NotSchoolAdmin));
        }
        Ok(Principal {
            school: school.clone(),
            actor: user.username,
            client_id: page.client_id().into(),
            scopes: vec![SCOPE_ADMIN.into()],
            origin,
        })
    }

    /// The caller of an admin route from a bearer access token of any school's issuer.
    pub async fn admin_principal(&self, bearer: &str) -> Result<Principal, Error> {
        let invalid = || Error::invalid_token("the access token is invalid or expired");
        let school_id: i64 = bearer
            .split_once('.')
            .and_then(|(id, _)| id.parse().ok())
            .ok_or_else(invalid)?;
        let school = match self.directory.school_by_id(school_id).await? {
            Some(s) if !s.disabled => s,
            _ => return Err(invalid()),
        };
        let token = self
            .access_token(&school, bearer)
            .await?
            .ok_or_else(invalid)?;
        let actor = match token.user_id {
            Some(id) => match self.directory.user_by_id(school.id, id).await? {
                Some(u) if !u.disabled => u.username,
                _ => return Err(invalid()),
            },
            None => format!("client:{}", token.client_id),
        };
        Ok(Principal {
            school,
            actor,
            client_id: token.client_id,
            scopes: token.scope.split(' ').map(str::to_string).collect(),
            origin: Origin::default(),
        })
    }

    /// The school `code` as `who` may see it: its own school, or any school for district
    /// operators. Anything else is `not_found`, as for a school that does not exist.
    pub async fn admin_school(&self, who: &Principal, code: &str) -> Result<School, Error> {
        let hidden = || Error::not_found(format!("unknown school `{code}`"));
        if !who.is_district() {
            return if who.school.code == code {
                Ok(who.school.clone())
            } else {
                Err(hidden())
            };
        }
        self.directory
            .school_by_code(code)
            .await?
            .ok_or_else(hidden)
    }

    /// Records an admin change (`before`/`after`) in the audit log of `school`.
    pub async fn audit_change(
        &self,
        who: &Principal,
        school: &School,
        event: &str,
        subject: Option<&str>,
        before: Value,
        after: Value,
    ) -> Result<(), Error> {
        let mut e = AuditEvent::new(school.id, event, "success", &who.actor);
        e.subject_user = subject.map(str::to_string);
        e.client_id = Some(who.client_id.clone());
        who.origin.stamp(&mut e);
        e.detail = json!({"before": before, "after": after});
        self.record(e).await
    }
}

/// A school code: lowercase letters, digits and dashes, 2–32 characters.
pub fn valid_school_code(code: &str) -> bool {
    let b = code.as_bytes();
    (2..=32).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A name shown to people: 1–100 characters, no control characters.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=100).contains(&n) && !name.chars().any(char::is_control) && !name.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(district: bool, scopes: &[&str]) -> Principal {
        Principal {
            school: School {
                id: 1,
                code: "a".into(),
                name: "A".into(),
                disabled: false,
                district,
                branding: Default::default(),
            },
            actor: "gm".into(),
            client_id: "c".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            origin: Origin::default(),
        }
    }

    #[test]
    fn scopes_and_district() {
        let gm = principal(false, &["openid", "admin"]);
        assert!(gm.require(&[SCOPE_ADMIN]).is_ok());
        assert_eq!(
            gm.require(&[SCOPE_DISTRICT]).unwrap_err().code,
            crate::code::Code::InsufficientScope
        );
        let users = principal(false, &["admin:users"]);
        assert!(users.require(&[SCOPE_ADMIN]).is_err());
        assert!(users.require(&[SCOPE_ADMIN, SCOPE_USERS]).is_ok());
        // A `district` scope from an ordinary school is worth nothing.
        let fake = principal(false, &["district"]);
        assert!(!fake.is_district());
        assert!(fake.require(&[SCOPE_DISTRICT]).is_err());
        let ops = principal(true, &["district"]);
        assert!(ops.require(&[SCOPE_AUDIT]).is_ok());
        assert!(principal(false, &["openid"]).require_any().is_err());
        assert_eq!(
            principal(false, &["openid"]).me().unwrap_err().code,
            crate::code::Code::InsufficientScope
        );
        assert_eq!(gm.me().unwrap()["district"], false);
    }

    #[test]
    fn tags_and_codes() {
        let tag = etag(&json!({"a": 1}));
        assert!(if_match(None, &tag).is_ok());
        assert!(if_match(Some("*"), &tag).is_ok());
        assert!(if_match(Some(&tag), &tag).is_ok());
        assert_eq!(
            if_match(Some("\"x\""), &tag).unwrap_err().code,
            crate::code::Code::PreconditionFailed
        );
        assert!(valid_school_code("ab-1") && !valid_school_code("A") && !valid_school_code("-"));
    }
}
