//! A school's settings through the admin API: the login policy (資安選項設定 → 啟用登入機制)
//! with its entity tag, the registration rules, and the school's own roles.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{etag, if_match, invalid, Principal};
use crate::audit::Audit;
use crate::error::Error;
use crate::model::School;
use crate::oidc::Provider;
use crate::policy::{Method, RegistrationRules, RolePolicy, BUILTIN_ROLES};

/// `PUT …/policy`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub roles: Vec<RolePolicy>,
}

/// `PUT …/registration`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    pub campus_cidrs: Vec<String>,
    pub require_enrollment_code: bool,
}

fn policy_body(roles: &[RolePolicy]) -> Value {
    json!({ "roles": roles })
}

/// The policy as the admin API shows it: the roles, the acr each method gives, the tag.
pub fn policy_json(roles: &[RolePolicy]) -> Value {
    let acr: serde_json::Map<String, Value> = Method::ALL
        .iter()
        .map(|m| (m.name().to_string(), json!(m.acr())))
        .collect();
    let body = policy_body(roles);
    json!({"roles": roles, "method_acr": acr, "etag": etag(&body)})
}

/// A role name: lowercase letter first, then lowercase letters, digits, `_` or `-`; ≤ 32.
pub fn valid_role(role: &str) -> bool {
    let b = role.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-".contains(c))
}

impl Provider {
    pub async fn admin_policy(&self, school: &School) -> Result<Vec<RolePolicy>, Error> {
        Ok(self.directory.login_policy(school.id).await?)
    }

    /// Replaces the whole policy when `if_match_header` (if sent) matches; the change applies
    /// to the next login.
    pub async fn admin_replace_policy(
        &self,
        who: &Principal,
        school: &School,
        input: PolicyInput,
        if_match_header: Option<&str>,
    ) -> Result<Vec<RolePolicy>, Error> {
        if input.roles.len() > 100 {
            return Err(invalid("at most 100 roles"));
        }
        let known = self.known_roles(school).await?;
        let mut seen = std::collections::HashSet::new();
        for p in &input.roles {
            if !known.contains(&p.role) {
                return Err(invalid(format!("unknown role `{}`", p.role)));
            }
            if !seen.insert(p.role.clone()) {
                return Err(invalid(format!("role `{}` is listed twice", p.role)));
            }
            let unique: std::collections::HashSet<_> = p.methods.iter().collect();
            if p.methods.is_empty() || unique.len() != p.methods.len() {
                return Err(invalid(format!(
                    "role `{}`: one or more methods, each once",
                    p.role
                )));
            }
        }
        let before = self.admin_policy(school).await?;
        if_match(if_match_header, &etag(&policy_body(&before)))?;
        let mut roles = input.roles;
        roles.sort_by(|a, b| a.role.cmp(&b.role));
        let (b, a) = (policy_body(&before), policy_body(&roles));
        let event = who.change(school.id, "policy.set").with(b, a);
        self.directory
            .set_login_policy(school.id, roles.clone(), Audit::event(event))
            .await?;
        Ok(roles)
    }

    /// Sets the methods of one role and leaves the others as they are (the command line's
    /// `set-policy`): the rules and the audited change of replacing the whole policy, against
    /// the policy as just read.
    pub async fn admin_set_role_methods(
        &self,
        who: &Principal,
        school: &School,
        role: &str,
        methods: Vec<Method>,
    ) -> Result<Vec<RolePolicy>, Error> {
        let current = self.admin_policy(school).await?;
        let tag = etag(&policy_body(&current));
        let mut roles: Vec<RolePolicy> = current.into_iter().filter(|p| p.role != role).collect();
        roles.push(RolePolicy {
            role: role.to_string(),
            methods,
        });
        let input = PolicyInput { roles };
        self.admin_replace_policy(who, school, input, Some(&tag))
            .await
    }

    pub async fn admin_registration(&self, school: &School) -> Result<RegistrationRules, Error> {
        Ok(self.directory.registration_rules(school.id).await?)
    }

    pub async fn admin_replace_registration(
        &self,
        who: &Principal,
        school: &School,
        input: RegistrationInput,
    ) -> Result<RegistrationRules, Error> {
        if input.campus_cidrs.len() > 100 {
            return Err(invalid("at most 100 campus ranges"));
        }
        if let Some(bad) = input
            .campus_cidrs
            .iter()
            .find(|c| c.parse::<ipnet::IpNet>().is_err())
        {
            return Err(invalid(format!("`{bad}` is not a CIDR range")));
        }
        let before = self.directory.registration_rules(school.id).await?;
        let rules = RegistrationRules {
            campus_cidrs: input.campus_cidrs,
            require_enrollment_code: input.require_enrollment_code,
        };
        let (b, a) = (json!(before), json!(rules));
        let event = who.change(school.id, "registration.set").with(b, a);
        self.directory
            .set_registration(school.id, rules.clone(), Audit::event(event))
            .await?;
        Ok(rules)
    }

    /// Every role of the school with how many accounts hold it.
    pub async fn admin_roles(&self, school: &School) -> Result<Vec<Value>, Error> {
        let held = self.directory.user_roles(school.id).await?;
        let count = |role: &str| held.iter().filter(|r| r.iter().any(|x| x == role)).count();
        Ok(self
            .known_roles(school)
            .await?
            .iter()
            .map(|r| json!({"role": r, "builtin": BUILTIN_ROLES.contains(&r.as_str()), "users": count(r)}))
            .collect())
    }

    /// Adds a school's own role; false when it existed already.
    pub async fn admin_add_role(
        &self,
        who: &Principal,
        school: &School,
        role: &str,
    ) -> Result<bool, Error> {
        if !valid_role(role) {
            return Err(invalid(
                "role: a lowercase letter, then letters, digits, _ or -",
            ));
        }
        if BUILTIN_ROLES.contains(&role) {
            return Ok(false);
        }
        let after = json!({"role": role});
        let event = who.change(school.id, "role.add").with(Value::Null, after);
        let added = self
            .directory
            .add_role(school.id, role, Audit::event(event))
            .await?;
        Ok(added)
    }

    /// `PUT …/roles/{role}`: adds the role when new; returns whether it was added and the
    /// role as listed.
    pub async fn admin_put_role(
        &self,
        who: &Principal,
        school: &School,
        role: &str,
    ) -> Result<(bool, Value), Error> {
        let added = self.admin_add_role(who, school, role).await?;
        let this = self
            .admin_roles(school)
            .await?
            .into_iter()
            .find(|r| r["role"] == role)
            .unwrap_or(Value::Null);
        Ok((added, this))
    }

    /// Removes a school's own role that no account holds (its policy goes with it).
    pub async fn admin_remove_role(
        &self,
        who: &Principal,
        school: &School,
        role: &str,
    ) -> Result<(), Error> {
        if BUILTIN_ROLES.contains(&role) {
            return Err(invalid("built-in roles cannot be removed"));
        }
        let held = self.directory.user_roles(school.id).await?;
        if held.iter().any(|r| r.iter().any(|x| x == role)) {
            return Err(Error::conflict("accounts still have this role"));
        }
        let before = json!({"role": role});
        let event = who
            .change(school.id, "role.remove")
            .with(before, Value::Null);
        let audit = Audit::event(event);
        if !self.directory.remove_role(school.id, role, audit).await? {
            return Err(Error::not_found(format!("no role `{role}`")));
        }
        Ok(())
    }
}
