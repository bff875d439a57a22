//! The admin API's domain: who is calling ([`Principal`]: a bearer token of this IdP, a GM
//! on the school's pages, or the operator at the command line), which school they may see,
//! which scopes they hold, and the changes they may make, each written with its audit event
//! (before and after) in one transaction. One module per resource: [`records`] (schools),
//! [`settings`] (login policy, registration rules, roles), the password policy, [`users`] and their [`import`],
//! [`certificates`] (bindings and enrollment codes), [`clients`], [`sessions`],
//! [`audit_log`], [`keys`], [`branding`], [`onboarding`] of a district's schools from a
//! [`school_list`], and [`seed`] fixtures. The HTTP layer and the command line parse a
//! request into the typed input these modules define and call one function; every rule
//! (formats, lengths, allowed values, who may do what) is checked here.

pub mod audit_log;
pub mod branding;
pub mod certificates;
pub mod clients;
pub mod import;
pub mod keys;
pub mod listing;
pub mod onboarding;
mod password_policy;
mod principal;
pub mod records;
pub mod school_list;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod upload;
pub mod users;

pub use principal::{
    ChangeEvent, Principal, OPERATOR, SCOPE_ADMIN, SCOPE_AUDIT, SCOPE_DISTRICT, SCOPE_USERS,
};

use serde_json::Value;

use crate::audit::Origin;
use crate::error::Error;
use crate::model::School;
use crate::oidc::Provider;

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
    /// 登入中的裝置: the school's live sessions.
    Sessions,
}

impl GmPage {
    fn client_id(self) -> &'static str {
        match self {
            Self::Security => "page:security",
            Self::Branding => "page:branding",
            Self::Sessions => "page:sessions",
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
            operator: false,
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
            operator: false,
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
    use serde_json::json;

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
            operator: false,
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
        let operator = Principal::operator(Origin::default());
        assert!(operator.is_district() && operator.require(&[SCOPE_ADMIN]).is_ok());
        assert!(operator.home_school().is_none() && gm.home_school().is_some());
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
