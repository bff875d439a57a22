//! The audit event of an action on the login pages.

use crate::audit::{AuditEvent, Origin};
use crate::model::School;

/// The longest account name an event keeps, in characters: no account name is longer (the
/// admin rules cap usernames at 64), so a longer one was made up and is cut before it is
/// stored or logged.
pub const ACCOUNT_CHARS: usize = 64;

/// An account name as typed, cut to [`ACCOUNT_CHARS`].
pub fn bounded_account(typed: &str) -> String {
    typed.chars().take(ACCOUNT_CHARS).collect()
}

/// An audit event of `account` at `school`, from `origin`.
pub fn audit_event(
    origin: &Origin,
    school: &School,
    event: &str,
    outcome: &str,
    account: &str,
    client_id: Option<&str>,
) -> AuditEvent {
    let account = bounded_account(account);
    let mut e = AuditEvent::new(school.id, event, outcome, &account);
    e.subject_user = Some(account).filter(|a| !a.is_empty());
    e.client_id = client_id.map(str::to_string);
    origin.stamp(&mut e);
    e
}
