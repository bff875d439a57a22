//! The audit log through the admin API: a page of a school's events, filtered by time,
//! actor, account and event name.

use serde::Deserialize;
use serde_json::json;

use super::invalid;
use super::listing::{Listing, PageRequest};
use crate::audit::AuditFilter;
use crate::error::Error;
use crate::model::School;
use crate::oidc::Provider;

/// `GET …/audit?since=&until=&actor=&user=&event=&limit=&cursor=`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// Unix seconds, inclusive.
    #[serde(default)]
    pub since: Option<String>,
    /// Unix seconds, exclusive.
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
}

fn unix_seconds(name: &str, value: Option<&str>) -> Result<Option<i64>, Error> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| invalid(format!("{name} must be unix seconds")))
        })
        .transpose()
}

impl AuditQuery {
    /// The filter the store applies.
    pub fn filter(&self) -> Result<AuditFilter, Error> {
        let since = unix_seconds("since", self.since.as_deref())?;
        let until = unix_seconds("until", self.until.as_deref())?;
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                return Err(invalid("until must be after since"));
            }
        }
        Ok(AuditFilter {
            since,
            until,
            actor: self.actor.clone(),
            user: self.user.clone(),
            event: self.event.clone(),
        })
    }
}

impl Provider {
    /// A page of the school's audit events, each with its id (the cursor).
    pub async fn admin_audit(&self, school: &School, query: &AuditQuery) -> Result<Listing, Error> {
        let p = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
        let filter = query.filter()?;
        let found = self
            .directory
            .query_audit(school.id, filter, p.after, p.limit)
            .await?;
        let next_cursor = p.next(found.len(), found.last().map(|e| e.0));
        let items = found
            .into_iter()
            .map(|(id, e)| {
                let mut v = json!(e);
                v["id"] = json!(id);
                if let Some(map) = v.as_object_mut() {
                    map.remove("school_id");
                }
                v
            })
            .collect();
        Ok(Listing { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_filters() {
        let q = |since: Option<&str>, until: Option<&str>| AuditQuery {
            since: since.map(str::to_string),
            until: until.map(str::to_string),
            event: Some("policy.set".into()),
            ..Default::default()
        };
        let f = q(Some("10"), Some("20")).filter().unwrap();
        assert_eq!((f.since, f.until), (Some(10), Some(20)));
        assert_eq!(f.event.as_deref(), Some("policy.set"));
        assert!(q(Some("yesterday"), None).filter().is_err());
        assert!(q(Some("20"), Some("20")).filter().is_err());
        assert!(q(None, Some("5")).filter().is_ok());
    }
}
