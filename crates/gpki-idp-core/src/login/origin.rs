//! Where a request came from, as the audit log records it.

use crate::audit::AuditEvent;
use crate::model::School;

/// The client address (after the trusted-proxy rules) and user agent of a request.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: Option<String>,
}

/// The longest user agent the audit log keeps, in characters.
const USER_AGENT_CHARS: usize = 200;

impl Origin {
    pub fn new(ip: String, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|v| v.chars().take(USER_AGENT_CHARS).collect());
        Self { ip, user_agent }
    }

    /// An audit event of `account` at `school`, from this origin.
    pub fn event(
        &self,
        school: &School,
        event: &str,
        outcome: &str,
        account: &str,
        client_id: Option<&str>,
    ) -> AuditEvent {
        let mut e = AuditEvent::new(school.id, event, outcome, account);
        e.subject_user = Some(account.to_string()).filter(|a| !a.is_empty());
        e.client_id = client_id.map(str::to_string);
        e.ip = Some(self.ip.clone());
        e.user_agent = self.user_agent.clone();
        e
    }
}
