//! A change's audit rows, written on the change's own connection inside its transaction, and
//! which events a write makes from its outcome (none when it changed nothing).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::{Audit, AuditEvent};

use crate::db::Conn;
use crate::schema::audit_events;
use crate::with_conn;

/// Inserts events on `conn`: inside a change's transaction, they are stored with it.
pub(crate) fn insert(conn: &mut Conn, events: &[AuditEvent]) -> Result<(), DieselError> {
    for e in events {
        let values = (
            audit_events::school_id.eq(e.school_id),
            audit_events::at.eq(e.at),
            audit_events::event.eq(&e.event),
            audit_events::outcome.eq(&e.outcome),
            audit_events::actor.eq(&e.actor),
            audit_events::subject_user.eq(&e.subject_user),
            audit_events::client_id.eq(&e.client_id),
            audit_events::ip.eq(&e.ip),
            audit_events::user_agent.eq(&e.user_agent),
            audit_events::detail.eq(e.detail.to_string()),
        );
        with_conn!(conn, |c| diesel::insert_into(audit_events::table)
            .values(values)
            .execute(c))?;
    }
    Ok(())
}

/// The events of a write whose outcome is the changed row, or `None` when nothing changed.
pub(crate) fn when_some<T>(audit: Audit<T>) -> impl FnOnce(&Option<T>) -> Vec<AuditEvent> {
    move |changed| {
        changed
            .as_ref()
            .map_or_else(Vec::new, |c| audit.events_for(c))
    }
}

/// The events of a write that says whether it changed anything.
pub(crate) fn when_true(audit: Audit<()>) -> impl FnOnce(&bool) -> Vec<AuditEvent> {
    move |changed| {
        if *changed {
            audit.events_for(&())
        } else {
            Vec::new()
        }
    }
}

/// The events of a write that always changes what it is given.
pub(crate) fn always<T>(audit: Audit<T>) -> impl FnOnce(&T) -> Vec<AuditEvent> {
    move |outcome| audit.events_for(outcome)
}
