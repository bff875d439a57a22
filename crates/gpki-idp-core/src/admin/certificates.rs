//! Certificate bindings (註冊自然人憑證) and one-time enrollment codes through the admin API:
//! list, remove a binding, issue and revoke a code; each change audited.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::listing::{path_id, ListQuery, Listing};
use super::{invalid, Principal};
use crate::audit::{Audit, Origin};
use crate::error::Error;
use crate::model::{CertBinding, School, User};
use crate::oidc::Provider;
use crate::{random_token, token_hash};

/// `POST …/users/{username}/enrollment-codes` (an empty body is the default).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// How long the code is valid: 1 to 720 hours, 72 unless sent.
    #[serde(default = "default_hours")]
    pub hours: u64,
}

impl Default for CodeInput {
    fn default() -> Self {
        Self {
            hours: default_hours(),
        }
    }
}

fn default_hours() -> u64 {
    72
}

impl CodeInput {
    fn check(&self) -> Result<(), Error> {
        if (1..=720).contains(&self.hours) {
            Ok(())
        } else {
            Err(invalid("hours: 1 to 720"))
        }
    }
}

/// A code just issued: the only time the code itself is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuedCode {
    pub id: i64,
    pub username: String,
    pub code: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used: bool,
}

/// The JSON of a certificate binding.
pub fn binding_json(b: &CertBinding, username: &str) -> Value {
    json!({"id": b.id, "username": username, "subject_cn": b.subject_cn, "serial_hex": b.serial_hex, "issuer_dn": b.issuer_dn, "not_after": b.not_after})
}

impl Provider {
    /// A page of the school's certificate bindings with their owners' usernames.
    pub async fn admin_list_bindings(
        &self,
        school: &School,
        query: &ListQuery,
    ) -> Result<Listing, Error> {
        let p = query.page()?;
        let found = self
            .directory
            .list_bindings(school.id, p.after, p.limit)
            .await?;
        let mut items = Vec::new();
        for b in &found {
            let user = self.directory.user_by_id(school.id, b.user_id).await?;
            let name = user.map(|u| u.username).unwrap_or_default();
            items.push(binding_json(b, &name));
        }
        Ok(Listing {
            items,
            next_cursor: p.next(found.len(), found.last().map(|b| b.id)),
        })
    }

    /// The certificates one account has registered.
    pub async fn admin_user_certificates(
        &self,
        school: &School,
        username: &str,
    ) -> Result<Vec<Value>, Error> {
        let user = self.admin_user(school, username).await?;
        let found = self.directory.bindings_of(school.id, user.id).await?;
        Ok(found
            .iter()
            .map(|b| binding_json(b, &user.username))
            .collect())
    }

    /// Removes a certificate binding (path `id`) of any account of the school (憑證註冊撤銷).
    pub async fn admin_remove_binding(
        &self,
        who: &Principal,
        school: &School,
        id: &str,
    ) -> Result<(), Error> {
        let id = path_id(id)?;
        let change = who.change(school.id, "certificate.remove");
        let audit = Audit::of(move |(binding, owner): &(CertBinding, String)| {
            let before = binding_json(binding, owner);
            change.subject(owner).with(before, Value::Null)
        });
        self.directory
            .remove_binding_by_id(school.id, id, audit)
            .await?
            .ok_or_else(|| Error::not_found("no such certificate binding"))?;
        Ok(())
    }

    /// Issues a one-time enrollment code for an account (shown once).
    pub async fn admin_issue_code(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
        input: &CodeInput,
    ) -> Result<IssuedCode, Error> {
        input.check()?;
        let user = self.admin_user(school, username).await?;
        let ttl = Duration::from_secs(input.hours * 3600);
        let (id, code) = self.new_enrollment_code(who, school, &user, ttl).await?;
        Ok(IssuedCode {
            id,
            username: username.to_string(),
            code,
            created_at: crate::now(),
            expires_at: crate::now() + ttl.as_secs() as i64,
            used: false,
        })
    }

    /// Issues a one-time enrollment code for `user`, valid for `ttl`, as the operator; returns
    /// its id and the code.
    pub async fn issue_enrollment_code(
        &self,
        school: &School,
        user: &User,
        ttl: Duration,
    ) -> Result<(i64, String), Error> {
        let operator = Principal::operator(Origin::default());
        self.new_enrollment_code(&operator, school, user, ttl).await
    }

    /// A new code stored (by hash) with its audit event; its id and the code.
    async fn new_enrollment_code(
        &self,
        who: &Principal,
        school: &School,
        user: &User,
        ttl: Duration,
    ) -> Result<(i64, String), Error> {
        let code = random_token(9);
        let expires = crate::now() + ttl.as_secs() as i64;
        let hours = ttl.as_secs() / 3600;
        let change = who.change(school.id, "enrollment_code.issue");
        let change = change.subject(&user.username);
        let audit =
            Audit::of(move |id: &i64| change.with(Value::Null, json!({"id": id, "hours": hours})));
        let id = self
            .directory
            .add_enrollment_code(school.id, user.id, &token_hash(&code), expires, audit)
            .await?;
        Ok((id, code))
    }

    /// A page of the school's enrollment codes (never the codes themselves).
    pub async fn admin_list_codes(
        &self,
        school: &School,
        query: &ListQuery,
    ) -> Result<Listing, Error> {
        let p = query.page()?;
        let found = self
            .directory
            .list_enrollment_codes(school.id, p.after, p.limit)
            .await?;
        Ok(Listing {
            items: found.iter().map(|c| json!(c)).collect(),
            next_cursor: p.next(found.len(), found.last().map(|c| c.id)),
        })
    }

    /// Revokes an enrollment code (path `id`).
    pub async fn admin_revoke_code(
        &self,
        who: &Principal,
        school: &School,
        id: &str,
    ) -> Result<(), Error> {
        let id = path_id(id)?;
        let before = json!({"id": id});
        let event = who
            .change(school.id, "enrollment_code.revoke")
            .with(before, Value::Null);
        let audit = Audit::event(event);
        if !self
            .directory
            .revoke_enrollment_code(school.id, id, audit)
            .await?
        {
            return Err(Error::not_found("no such enrollment code"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hours() {
        let input = |v: Value| serde_json::from_value::<CodeInput>(v);
        assert_eq!(input(json!({})).unwrap().hours, 72);
        assert_eq!(CodeInput::default().hours, 72);
        assert!(input(json!({"hours": 720})).unwrap().check().is_ok());
        assert!(input(json!({"hours": 0})).unwrap().check().is_err());
        assert!(input(json!({"hours": 721})).unwrap().check().is_err());
        assert!(input(json!({"hours": 1, "other": 1})).is_err());
    }
}
