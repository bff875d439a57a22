//! The audit log: append-only records of logins (success and failure, with the method and the
//! reason code), certificate registrations and removals, and admin changes. Never a PIN, a
//! password, a token or a full signature: events carry codes and identifiers only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub school_id: i64,
    /// Unix seconds.
    pub at: i64,
    /// `login.password`, `login.certificate`, `logout`, `certificate.register`,
    /// `certificate.remove`, `policy.set`, `registration.set`, `enrollment_code.issue`,
    /// `key.rotate`, `key.create`, `user.create`, `school.create`, …
    pub event: String,
    /// `success`, or the stable error code of the failure.
    pub outcome: String,
    /// Who acted: the account name, `cli` (the operator), `seed` (test data), or a client id.
    pub actor: String,
    /// The account concerned, when there is one.
    pub subject_user: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Event-specific details (certificate serial and issuer, before/after of a change).
    pub detail: Value,
}

impl AuditEvent {
    /// A new event at the current time with empty optional fields.
    pub fn new(school_id: i64, event: &str, outcome: &str, actor: &str) -> Self {
        Self {
            school_id,
            at: crate::now(),
            event: event.to_string(),
            outcome: outcome.to_string(),
            actor: actor.to_string(),
            subject_user: None,
            client_id: None,
            ip: None,
            user_agent: None,
            detail: Value::Null,
        }
    }

    /// Writes the event to the log output (`"type":"audit"`, then every field; the detail as
    /// its JSON text, absent fields left out).
    pub fn log(&self) {
        let detail = (!self.detail.is_null()).then(|| tracing::field::display(&self.detail));
        tracing::info!(
            "type" = "audit",
            school_id = self.school_id,
            at = self.at,
            event = self.event,
            outcome = self.outcome,
            actor = self.actor,
            subject_user = self.subject_user,
            client_id = self.client_id,
            ip = self.ip,
            user_agent = self.user_agent,
            detail,
        );
    }
}

/// The audit of one change to the directory: the events it makes from what the change wrote
/// (the account as created, a new id, the row that was removed). Every audited write of
/// [`crate::store::Directory`] takes one and appends its events in the change's own
/// transaction, so that a change and its audit are stored together or not at all: a change
/// that cannot be audited does not happen. A write that changed nothing (no such row) makes
/// no events.
pub struct Audit<T: ?Sized>(Box<MakeEvents<T>>);

/// How a change's events are made from its outcome.
type MakeEvents<T> = dyn FnOnce(&T) -> Vec<AuditEvent> + Send;

impl<T: ?Sized> Audit<T> {
    /// One event known before the change.
    pub fn event(event: AuditEvent) -> Self {
        Self(Box::new(move |_| vec![event]))
    }

    /// One event made from what the change wrote.
    pub fn of(make: impl FnOnce(&T) -> AuditEvent + Send + 'static) -> Self {
        Self(Box::new(move |outcome| vec![make(outcome)]))
    }

    /// Several events made from what the change wrote (one per school of an onboarding).
    pub fn each(make: impl FnOnce(&T) -> Vec<AuditEvent> + Send + 'static) -> Self {
        Self(Box::new(make))
    }

    /// The events of the change that wrote `outcome`: what the store appends with it.
    pub fn events_for(self, outcome: &T) -> Vec<AuditEvent> {
        (self.0)(outcome)
    }
}

impl<T: ?Sized> std::fmt::Debug for Audit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audit(..)")
    }
}

/// What an audit query asks for; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    pub actor: Option<String>,
    pub user: Option<String>,
    pub event: Option<String>,
}

/// Where a request came from, as the audit log records it: the client address (after the
/// trusted-proxy rules) and the user agent. Empty for the operator CLI.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The longest user agent the audit log keeps, in characters.
const USER_AGENT_CHARS: usize = 200;

impl Origin {
    pub fn new(ip: String, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|v| v.chars().take(USER_AGENT_CHARS).collect());
        Self {
            ip: Some(ip),
            user_agent,
        }
    }

    /// Stamps an event with this origin.
    pub fn stamp(&self, event: &mut AuditEvent) {
        event.ip = self.ip.clone();
        event.user_agent = self.user_agent.clone();
    }
}
