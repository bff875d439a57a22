//! The audit event of an action on the login pages.

use crate::audit::{AuditEvent, Origin};
use crate::model::School;

/// An audit event of `account` at `school`, from `origin`.
pub fn audit_event(
    origin: &Origin,
    school: &School,
    event: &str,
    outcome: &str,
    account: &str,
    client_id: Option<&str>,
) -> AuditEvent {
    let mut e = AuditEvent::new(school.id, event, outcome, account);
    e.subject_user = Some(account.to_string()).filter(|a| !a.is_empty());
    e.client_id = client_id.map(str::to_string);
    origin.stamp(&mut e);
    e
}
