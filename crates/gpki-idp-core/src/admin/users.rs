//! Accounts through the admin API: list, show, create, change, disable. The rules of an
//! account (username, display name, roles, password, who may touch an admin account) live
//! here; the bulk import applies the same ones.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::listing::{Listing, PageRequest};
use super::{invalid, valid_name, Principal, SCOPE_ADMIN};
use crate::audit::Audit;
use crate::login::reset::{code_key, new_code, Held};
use crate::model::{NewUser, School, User, UserChange};
use crate::oidc::Provider;
use crate::policy::BUILTIN_ROLES;
use crate::staged::Staged;
use crate::store::StoreError;
use crate::{error::Error, password};

/// `POST …/users`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `PATCH …/users/{username}`; `password: null` removes the password.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub password: Option<Option<String>>,
}

/// `GET …/users?limit=&cursor=&q=`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// A substring of the username or display name; empty matches all.
    #[serde(default)]
    pub q: Option<String>,
}

impl UserListQuery {
    fn search(&self) -> Result<Option<String>, Error> {
        let search = self.q.clone().filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.chars().count() > 64) {
            return Err(invalid("q: at most 64 characters"));
        }
        Ok(search)
    }
}

/// A field that was sent, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A username: letters, digits and `._@-`, 1–64 characters.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

fn check_password(pw: &str) -> Result<(), Error> {
    let n = pw.chars().count();
    if (8..=128).contains(&n) {
        Ok(())
    } else {
        Err(invalid("password must be 8 to 128 characters"))
    }
}

/// What is wrong with a list of roles, given the school's roles.
pub(super) fn roles_problem(roles: &[String], known: &[String]) -> Option<(&'static str, String)> {
    if roles.is_empty() || roles.len() > 10 {
        return Some(("invalid_roles", "an account has 1 to 10 roles".into()));
    }
    let unique: HashSet<&String> = roles.iter().collect();
    if unique.len() != roles.len() {
        return Some(("invalid_roles", "a role is listed twice".into()));
    }
    roles
        .iter()
        .find(|r| !known.contains(r))
        .map(|r| ("unknown_role", format!("unknown role `{r}`")))
}

/// The JSON of an account as the admin API shows it.
pub fn user_json(user: &User, certificates: i64) -> Value {
    json!({
        "username": user.username,
        "subject": user.subject,
        "display_name": user.display_name,
        "roles": user.roles,
        "disabled": user.disabled,
        "has_password": user.password_hash.is_some(),
        "password_must_change": user.password_must_change,
        "password_changed_at": user.password_changed_at,
        "certificates": certificates,
    })
}

/// Only a holder of `admin` (or district) may create an admin account, change one, or give or
/// take the admin role: `admin:users` would otherwise be a way to become a GM.
fn guard_admin_accounts(
    who: &Principal,
    before: &[String],
    after: Option<&[String]>,
) -> Result<(), Error> {
    let touches = before
        .iter()
        .chain(after.unwrap_or_default())
        .any(|r| r == "admin");
    if touches && who.require(&[SCOPE_ADMIN]).is_err() {
        return Err(Error::insufficient_scope(
            "only the admin scope may create or change an admin account or the admin role",
        ));
    }
    Ok(())
}

async fn hash_password(pw: String) -> Result<String, Error> {
    // argon2 takes tens of milliseconds: on the password pool, off the async workers.
    password::hash_pooled(pw).await
}

impl Provider {
    /// The roles of the school: the built-in ones and its own.
    pub async fn known_roles(&self, school: &School) -> Result<Vec<String>, Error> {
        let mut roles: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
        roles.extend(self.directory.custom_roles(school.id).await?);
        Ok(roles)
    }

    /// An account of the school by username, or `not_found`.
    pub async fn admin_user(&self, school: &School, username: &str) -> Result<User, Error> {
        self.directory
            .user_by_username(school.id, username)
            .await?
            .ok_or_else(|| Error::not_found(format!("no account `{username}`")))
    }

    /// How many certificates an account has registered.
    pub async fn certificate_count(&self, school: &School, user: &User) -> Result<i64, Error> {
        let counts = self
            .directory
            .binding_counts(school.id, vec![user.id])
            .await?;
        Ok(counts.first().map_or(0, |c| c.1))
    }

    /// A page of the school's accounts, each with its number of certificates.
    pub async fn admin_list_users(
        &self,
        school: &School,
        query: &UserListQuery,
    ) -> Result<Listing, Error> {
        let p = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
        let search = query.search()?;
        let found = self
            .directory
            .list_users(school.id, p.after, p.limit, search)
            .await?;
        let ids = found.iter().map(|u| u.id).collect();
        let counts = self.directory.binding_counts(school.id, ids).await?;
        let count = |id| counts.iter().find(|c| c.0 == id).map_or(0, |c| c.1);
        Ok(Listing {
            items: found.iter().map(|u| user_json(u, count(u.id))).collect(),
            next_cursor: p.next(found.len(), found.last().map(|u| u.id)),
        })
    }

    /// An account as the admin API shows it.
    pub async fn admin_user_view(&self, school: &School, username: &str) -> Result<Value, Error> {
        let user = self.admin_user(school, username).await?;
        let count = self.certificate_count(school, &user).await?;
        Ok(user_json(&user, count))
    }

    pub async fn admin_create_user(
        &self,
        who: &Principal,
        school: &School,
        input: NewUserInput,
    ) -> Result<User, Error> {
        if !valid_username(&input.username) {
            return Err(invalid("username: 1 to 64 letters, digits or ._@-"));
        }
        if !valid_name(&input.display_name) {
            return Err(invalid("display_name: 1 to 100 characters"));
        }
        if let Some((_, why)) = roles_problem(&input.roles, &self.known_roles(school).await?) {
            return Err(invalid(why));
        }
        guard_admin_accounts(who, &[], Some(&input.roles))?;
        let password_hash = match input.password {
            Some(pw) => {
                check_password(&pw)?;
                Some(hash_password(pw).await?)
            }
            None => None,
        };
        let new = NewUser {
            school_id: school.id,
            username: input.username.clone(),
            display_name: input.display_name,
            password_must_change: password_hash.is_some(),
            password_hash,
            roles: input.roles,
        };
        let change = who
            .change(school.id, "user.create")
            .subject(&input.username);
        let audit = Audit::of(move |u: &User| change.with(Value::Null, user_json(u, 0)));
        let disabled = input.disabled == Some(true);
        match self.directory.add_user(new, disabled, audit).await {
            Err(StoreError::Conflict(_)) => Err(Error::conflict(format!(
                "the account `{}` exists",
                input.username
            ))),
            other => Ok(other?),
        }
    }

    pub async fn admin_update_user(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
        patch: UserPatch,
    ) -> Result<Value, Error> {
        let user = self.admin_user(school, username).await?;
        guard_admin_accounts(who, &user.roles, patch.roles.as_deref())?;
        if let Some(name) = &patch.display_name {
            if !valid_name(name) {
                return Err(invalid("display_name: 1 to 100 characters"));
            }
        }
        if let Some(roles) = &patch.roles {
            if let Some((_, why)) = roles_problem(roles, &self.known_roles(school).await?) {
                return Err(invalid(why));
            }
        }
        let password_hash = match patch.password {
            Some(Some(pw)) => {
                check_password(&pw)?;
                Some(Some(hash_password(pw).await?))
            }
            Some(None) => Some(None),
            None => None,
        };
        let change = UserChange {
            display_name: patch.display_name,
            roles: patch.roles,
            disabled: patch.disabled,
            password_hash,
        };
        let count = self.certificate_count(school, &user).await?;
        let before = user_json(&user, count);
        let event = who.change(school.id, "user.update").subject(username);
        let audit = Audit::of(move |u: &User| event.with(before, user_json(u, count)));
        let updated = self
            .directory
            .update_user(school.id, user.id, change, audit)
            .await?
            .ok_or_else(|| Error::not_found(format!("no account `{username}`")))?;
        Ok(user_json(&updated, count))
    }
}

impl Provider {
    /// A one-time password reset code for an account (忘記密碼), handed over in person; only
    /// a holder of `admin` (or district) may reset an admin account.
    pub async fn admin_reset_code(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
    ) -> Result<IssuedCode, Error> {
        let user = self.admin_user(school, username).await?;
        guard_admin_accounts(who, &user.roles, None)?;
        let ttl = self.settings.reset_code_ttl;
        let code = new_code();
        let expires_at = crate::now() + ttl.as_secs() as i64;
        let after = json!({ "expires_at": expires_at });
        let event = who
            .change(school.id, "user.reset_code")
            .subject(&user.username)
            .with(Value::Null, after);
        // Kept first, removed again when its event cannot be committed (as a login's step).
        let mut staged = Staged::new(self.ephemeral.as_ref());
        let held = Held { user_id: user.id };
        let written = staged.put_json(code_key(school, &code), &held, ttl).await;
        staged.commit(written, self.record(event)).await?;
        Ok(IssuedCode {
            code,
            expires_at,
            expires_in: ttl.as_secs(),
        })
    }
}

/// A password reset code as issued: shown once to the GM, stored only as its hash.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: i64,
    pub expires_in: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_rules() {
        assert!(valid_username("t.lin@school-1") && !valid_username("a b") && !valid_username(""));
        assert!(check_password("12345678").is_ok() && check_password("short").is_err());
        let known: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
        let roles = |r: &[&str]| r.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            roles_problem(&roles(&[]), &known).unwrap().0,
            "invalid_roles"
        );
        assert_eq!(
            roles_problem(&roles(&["teacher", "teacher"]), &known)
                .unwrap()
                .0,
            "invalid_roles"
        );
        assert_eq!(
            roles_problem(&roles(&["wizard"]), &known).unwrap().0,
            "unknown_role"
        );
        assert!(roles_problem(&roles(&["teacher"]), &known).is_none());
        let q = |text: &str| UserListQuery {
            q: Some(text.into()),
            ..Default::default()
        };
        assert_eq!(q("").search().unwrap(), None);
        assert_eq!(q(&"x".repeat(64)).search().unwrap().unwrap().len(), 64);
        assert_eq!(
            q(&"中".repeat(65)).search().unwrap_err().code,
            crate::code::Code::InvalidRequest
        );
    }
}
