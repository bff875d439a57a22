//! The durable queue of logout tokens (queued by [`super::ending`]): claimed by one sender at
//! a time across replicas (a conditional update: a row is claimed only while its claim has
//! run out, so two senders never hold it at once), then removed once delivered or given up
//! (with its audit event), or put back with its next attempt time.

use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::{LogoutMessage, LogoutQueue};
use gpki_idp_core::store::StoreResult;

use super::audited::when_true;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::logout_messages as m;
use crate::with_conn;

type MessageRow = (i64, i64, String, String, String, String, i64, i64);

fn message(
    (id, school_id, client_id, uri, session_id, subject, created_at, attempts): MessageRow,
) -> LogoutMessage {
    LogoutMessage {
        id,
        school_id,
        client_id,
        uri,
        session_id,
        subject,
        created_at,
        attempts,
    }
}

/// Claims up to `limit` messages due at `now` until `until`.
pub async fn claim(
    d: &SqlDirectory,
    now: i64,
    until: i64,
    limit: i64,
) -> StoreResult<Vec<LogoutMessage>> {
    d.run(move |conn| {
        let due = m::table
            .filter(m::next_at.le(now))
            .filter(m::claimed_until.le(now))
            .order(m::id.asc())
            .limit(limit)
            .select(m::id);
        let candidates = with_conn!(conn, |c| due.load::<i64>(c))?;
        let mut claimed = vec![];
        for id in candidates {
            // Taken only while no other sender holds it: of two replicas, one updates the row.
            let take = diesel::update(
                m::table
                    .filter(m::id.eq(id))
                    .filter(m::claimed_until.le(now)),
            )
            .set(m::claimed_until.eq(until));
            if with_conn!(conn, |c| take.execute(c))? == 1 {
                claimed.push(id);
            }
        }
        let rows = m::table
            .filter(m::id.eq_any(claimed))
            .order(m::id.asc())
            .select((
                m::id,
                m::school_id,
                m::client_id,
                m::uri,
                m::session_id,
                m::subject,
                m::created_at,
                m::attempts,
            ));
        let rows = with_conn!(conn, |c| rows.load::<MessageRow>(c))?;
        Ok(rows.into_iter().map(message).collect())
    })
    .await
}

/// Removes a message (delivered, or given up), with its audit event.
pub async fn finish(d: &SqlDirectory, id: i64, audit: Audit<()>) -> StoreResult<bool> {
    let apply = move |conn: &mut Conn| {
        let q = m::table.filter(m::id.eq(id));
        with_conn!(conn, |c| diesel::delete(q).execute(c)).map(|n| n > 0)
    };
    d.write(apply, when_true(audit)).await
}

/// Puts a message back for another attempt at `next_at`, with why the last one failed.
pub async fn retry(d: &SqlDirectory, id: i64, next_at: i64, error: String) -> StoreResult<()> {
    d.run(move |conn| {
        let q = diesel::update(m::table.filter(m::id.eq(id))).set((
            m::next_at.eq(next_at),
            m::claimed_until.eq(0),
            m::attempts.eq(m::attempts + 1),
            m::last_error.eq(error),
        ));
        with_conn!(conn, |c| q.execute(c)).map(|_| ())
    })
    .await
}

/// How many messages wait and since when the oldest.
pub async fn stats(d: &SqlDirectory) -> StoreResult<LogoutQueue> {
    d.run(move |conn| {
        let q = m::table.select((count_star(), min(m::created_at)));
        let (pending, oldest) = with_conn!(conn, |c| q.first::<(i64, Option<i64>)>(c))?;
        Ok(LogoutQueue {
            pending,
            oldest_created_at: oldest,
        })
    })
    .await
}
