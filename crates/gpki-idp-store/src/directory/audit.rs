//! The audit log: events written with the change they describe (or alone, when they describe
//! none), and searched by time, actor, account and event after a cursor.

use diesel::prelude::*;
use gpki_idp_core::audit::{AuditEvent, AuditFilter};
use gpki_idp_core::store::StoreResult;

use super::audited::insert;
use super::sql::SqlDirectory;
use crate::schema::audit_events;
use crate::with_conn;

/// Appends one event alone (one that describes no stored change).
pub async fn append(d: &SqlDirectory, e: AuditEvent) -> StoreResult<()> {
    let e = d
        .run(move |conn| insert(conn, std::slice::from_ref(&e)).map(|()| e))
        .await?;
    // Logged once stored: the log never shows an event the audit log lacks.
    e.log();
    Ok(())
}

pub async fn since(
    d: &SqlDirectory,
    school_id: i64,
    since: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    let filter = AuditFilter {
        since: Some(since),
        ..AuditFilter::default()
    };
    let found = query(d, school_id, filter, 0, limit).await?;
    Ok(found.into_iter().map(|(_, e)| e).collect())
}

type AuditRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn audit_event(r: AuditRow) -> (i64, AuditEvent) {
    (
        r.0,
        AuditEvent {
            school_id: r.1,
            at: r.2,
            event: r.3,
            outcome: r.4,
            actor: r.5,
            subject_user: r.6,
            client_id: r.7,
            ip: r.8,
            user_agent: r.9,
            detail: serde_json::from_str(&r.10).unwrap_or(serde_json::Value::Null),
        },
    )
}

pub async fn query(
    d: &SqlDirectory,
    school_id: i64,
    f: AuditFilter,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<(i64, AuditEvent)>> {
    d.run(move |conn| {
        let rows = with_conn!(conn, |c| {
            let mut q = audit_events::table
                .filter(audit_events::school_id.eq(school_id))
                .filter(audit_events::id.gt(after))
                .order(audit_events::id.asc())
                .limit(limit)
                .into_boxed();
            if let Some(since) = f.since {
                q = q.filter(audit_events::at.ge(since));
            }
            if let Some(until) = f.until {
                q = q.filter(audit_events::at.lt(until));
            }
            if let Some(actor) = &f.actor {
                q = q.filter(audit_events::actor.eq(actor.clone()));
            }
            if let Some(user) = &f.user {
                q = q.filter(audit_events::subject_user.eq(user.clone()));
            }
            if let Some(event) = &f.event {
                q = q.filter(audit_events::event.eq(event.clone()));
            }
            q.load::<AuditRow>(c)
        })?;
        Ok(rows.into_iter().map(audit_event).collect())
    })
    .await
}

/// Deletes up to `limit` events older than `before` (Unix seconds), oldest first; how many.
pub async fn prune(d: &SqlDirectory, before: i64, limit: i64) -> StoreResult<u64> {
    d.run(move |conn| {
        with_conn!(conn, |c| {
            let oldest = audit_events::table
                .filter(audit_events::at.lt(before))
                .order(audit_events::at.asc())
                .select(audit_events::id)
                .limit(limit)
                .load::<i64>(c)?;
            diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&oldest)))
                .execute(c)
                .map(|n| n as u64)
        })
    })
    .await
}
