//! Who calls an admin service ([`Principal`]): which school it belongs to, which scopes it
//! holds, and the audit event of each change it makes ([`ChangeEvent`]).

use serde_json::{json, Value};

use crate::audit::{AuditEvent, Origin};
use crate::error::Error;
use crate::model::School;

/// Scope of a school's GM (or a service client a GM granted it).
pub const SCOPE_ADMIN: &str = "admin";
/// Users, their import and roles only.
pub const SCOPE_USERS: &str = "admin:users";
/// Reading the audit log only.
pub const SCOPE_AUDIT: &str = "admin:audit";
/// District operators: every school, school management, key rotation.
pub const SCOPE_DISTRICT: &str = "district";

/// The caller of an admin service: a bearer token's holder, a GM on the school's own pages,
/// or the operator at the command line.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The school whose issuer issued the token (for the operator, a placeholder district
    /// tenant that is no stored school: see [`Principal::home_school`]).
    pub school: School,
    /// The account name, `client:{client_id}` for a service client, or `cli`.
    pub actor: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Where the request came from, for the audit log.
    pub origin: Origin,
    /// The operator at the command line.
    pub(in crate::admin) operator: bool,
}

/// The actor (and client) of the operator's changes in the audit log.
pub const OPERATOR: &str = "cli";

impl Principal {
    /// The operator at the command line: district-level (every school, every scope), audited
    /// as `cli`. It alone bootstraps what no token can reach yet: the district tenant and
    /// the clients that hold the `district` scope.
    pub fn operator(origin: Origin) -> Self {
        let placeholder = School {
            id: 0,
            code: String::new(),
            name: "operator".into(),
            disabled: false,
            district: true,
            branding: Default::default(),
        };
        Self {
            school: placeholder,
            actor: OPERATOR.into(),
            client_id: OPERATOR.into(),
            scopes: vec![SCOPE_DISTRICT.into()],
            origin,
            operator: true,
        }
    }

    /// The operator at the command line.
    pub fn is_operator(&self) -> bool {
        self.operator
    }

    /// The stored school the caller belongs to; none for the operator.
    pub fn home_school(&self) -> Option<&School> {
        (!self.operator).then_some(&self.school)
    }

    /// The audit event of a change the caller makes at the school `school_id`.
    pub fn change(&self, school_id: i64, event: &str) -> ChangeEvent {
        let mut e = AuditEvent::new(school_id, event, "success", &self.actor);
        e.client_id = Some(self.client_id.clone());
        self.origin.stamp(&mut e);
        ChangeEvent(e)
    }

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

/// The audit event of an admin change, before what it changed is known: who, where, from
/// where; [`ChangeEvent::with`] adds the before and the after.
#[derive(Clone, Debug)]
pub struct ChangeEvent(AuditEvent);

impl ChangeEvent {
    /// The account the change concerns.
    pub fn subject(mut self, username: &str) -> Self {
        self.0.subject_user = Some(username.to_string());
        self
    }

    /// The same change recorded at another school (a school just created has its id only
    /// once it is stored).
    pub fn at(mut self, school_id: i64) -> Self {
        self.0.school_id = school_id;
        self
    }

    /// The event, with what was and what is.
    pub fn with(mut self, before: Value, after: Value) -> AuditEvent {
        self.0.detail = json!({"before": before, "after": after});
        self.0
    }
}
