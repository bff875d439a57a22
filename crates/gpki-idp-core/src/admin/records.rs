//! Schools, signing keys, certificate bindings, enrollment codes and sessions through the
//! admin API: each change audited with before and after.

use serde_json::{json, Value};

use super::{invalid, valid_name, valid_school_code, Principal};
use crate::keys::Alg;
use crate::model::{CertBinding, School, SessionRecord};
use crate::oidc::Provider;
use crate::store::StoreError;
use crate::OAuthError;

/// The JSON of a school as the admin API shows it.
pub fn school_json(s: &School) -> Value {
    json!({"code": s.code, "name": s.name, "disabled": s.disabled, "district": s.district})
}

/// The JSON of a certificate binding.
pub fn binding_json(b: &CertBinding, username: &str) -> Value {
    json!({"id": b.id, "username": username, "subject_cn": b.subject_cn, "serial_hex": b.serial_hex, "issuer_dn": b.issuer_dn, "not_after": b.not_after})
}

/// The JSON of a session.
pub fn session_json(s: &SessionRecord) -> Value {
    json!({"id": s.id, "username": s.username, "acr": s.acr, "amr": s.amr, "auth_time": s.auth_time, "expires_at": s.expires_at})
}

impl Provider {
    /// Creates a school with its signing keys (district operators only).
    pub async fn admin_create_school(
        &self,
        who: &Principal,
        code: &str,
        name: &str,
    ) -> Result<School, OAuthError> {
        if !valid_school_code(code) {
            return Err(invalid("code: 2 to 32 lowercase letters, digits or -"));
        }
        if !valid_name(name) {
            return Err(invalid("name: 1 to 100 characters"));
        }
        let school = match self.directory.create_school(code, name).await {
            Err(StoreError::Conflict(_)) => {
                return Err(OAuthError::conflict(format!("the school `{code}` exists")))
            }
            other => other?,
        };
        self.ensure_keys(&school).await?;
        let after = school_json(&school);
        self.audit_change(who, &school, "school.create", None, Value::Null, after)
            .await?;
        Ok(school)
    }

    pub async fn admin_update_school(
        &self,
        who: &Principal,
        school: &School,
        name: Option<String>,
        disabled: Option<bool>,
    ) -> Result<School, OAuthError> {
        if name.as_deref().is_some_and(|n| !valid_name(n)) {
            return Err(invalid("name: 1 to 100 characters"));
        }
        if name.is_none() && disabled.is_none() {
            return Err(invalid("send name or disabled"));
        }
        if disabled == Some(true) && school.id == who.school.id {
            return Err(invalid("the district tenant cannot disable itself"));
        }
        let updated = self
            .directory
            .update_school(school.id, name, disabled, None)
            .await?
            .ok_or_else(|| OAuthError::not_found("no such school"))?;
        self.forget_school(&school.code);
        let (b, a) = (school_json(school), school_json(&updated));
        self.audit_change(who, &updated, "school.update", None, b, a)
            .await?;
        Ok(updated)
    }

    pub async fn admin_rotate_key(
        &self,
        who: &Principal,
        school: &School,
        alg: &str,
    ) -> Result<String, OAuthError> {
        let alg = Alg::parse(alg).ok_or_else(|| invalid("alg: RS256 or ES256"))?;
        let kid = self.rotate_key(school, alg).await?;
        let after = json!({"alg": alg.name(), "kid": kid});
        self.audit_change(who, school, "key.rotate", None, Value::Null, after)
            .await?;
        Ok(kid)
    }

    /// Removes a certificate binding of any account of the school (憑證註冊撤銷).
    pub async fn admin_remove_binding(
        &self,
        who: &Principal,
        school: &School,
        id: i64,
    ) -> Result<(), OAuthError> {
        let removed = self
            .directory
            .remove_binding_by_id(school.id, id)
            .await?
            .ok_or_else(|| OAuthError::not_found("no such certificate binding"))?;
        let user = self
            .directory
            .user_by_id(school.id, removed.user_id)
            .await?;
        let name = user.map(|u| u.username).unwrap_or_default();
        let before = binding_json(&removed, &name);
        self.audit_change(
            who,
            school,
            "certificate.remove",
            Some(&name),
            before,
            Value::Null,
        )
        .await
    }

    /// Issues a one-time enrollment code; returns its id and the code (shown once).
    pub async fn admin_issue_code(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
        hours: u64,
    ) -> Result<(i64, String, i64), OAuthError> {
        if !(1..=720).contains(&hours) {
            return Err(invalid("hours: 1 to 720"));
        }
        let user = self.admin_user(school, username).await?;
        let ttl = std::time::Duration::from_secs(hours * 3600);
        let (id, code) = self.issue_enrollment_code(school, &user, ttl).await?;
        let expires = crate::now() + ttl.as_secs() as i64;
        let after = json!({"id": id, "hours": hours});
        self.audit_change(
            who,
            school,
            "enrollment_code.issue",
            Some(username),
            Value::Null,
            after,
        )
        .await?;
        Ok((id, code, expires))
    }

    pub async fn admin_revoke_code(
        &self,
        who: &Principal,
        school: &School,
        id: i64,
    ) -> Result<(), OAuthError> {
        if !self.directory.revoke_enrollment_code(school.id, id).await? {
            return Err(OAuthError::not_found("no such enrollment code"));
        }
        let before = json!({"id": id});
        self.audit_change(
            who,
            school,
            "enrollment_code.revoke",
            None,
            before,
            Value::Null,
        )
        .await
    }

    /// Ends a browser session and the refresh tokens issued in it.
    pub async fn admin_revoke_session(
        &self,
        who: &Principal,
        school: &School,
        id: &str,
    ) -> Result<(), OAuthError> {
        let ended = self
            .revoke_session(school, id)
            .await?
            .ok_or_else(|| OAuthError::not_found("no such session"))?;
        let before = session_json(&ended);
        self.audit_change(
            who,
            school,
            "session.revoke",
            Some(&ended.username),
            before,
            Value::Null,
        )
        .await
    }
}
