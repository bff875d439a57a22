//! Login sessions as the admin and the person see them: recorded (with the clients that got a
//! token in them), listed after a cursor (live ones only), and ended with their refresh
//! tokens and their clients told ([`super::ending`]); pruned once expired a while.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::SessionRecord;
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_some};
use super::ending::{end_sessions, records, Ending, SessionRow};
use super::json;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::{session_clients, sessions};
use crate::with_conn;

pub async fn add(d: &SqlDirectory, s: SessionRecord, audit: Audit<()>) -> StoreResult<()> {
    let values = (
        sessions::id.eq(s.id),
        sessions::school_id.eq(s.school_id),
        sessions::user_id.eq(s.user_id),
        sessions::acr.eq(s.acr),
        sessions::amr.eq(json::text(&s.amr)),
        sessions::auth_time.eq(s.auth_time),
        sessions::expires_at.eq(s.expires_at),
        sessions::revoked.eq(false),
        sessions::ip.eq(s.ip),
        sessions::user_agent.eq(s.user_agent),
        sessions::cert_sha256.eq(s.cert_sha256),
    );
    let insert = move |conn: &mut Conn| {
        with_conn!(conn, |c| diesel::insert_into(sessions::table)
            .values(values)
            .execute(c))
        .map(|_| ())
    };
    d.write(insert, always(audit)).await
}

pub async fn list(
    d: &SqlDirectory,
    school_id: i64,
    user_id: Option<i64>,
    after: String,
    limit: i64,
    now: i64,
) -> StoreResult<Vec<SessionRecord>> {
    d.run(move |conn| {
        let rows = with_conn!(conn, |c| {
            let mut q = sessions::table
                .filter(sessions::school_id.eq(school_id))
                .filter(sessions::id.gt(after.clone()))
                .filter(sessions::revoked.eq(false))
                .filter(sessions::expires_at.gt(now))
                .order(sessions::id.asc())
                .limit(limit)
                .into_boxed();
            if let Some(user) = user_id {
                q = q.filter(sessions::user_id.eq(user));
            }
            q.load::<SessionRow>(c)
        })?;
        records(conn, rows)
    })
    .await
}

pub async fn by_id(
    d: &SqlDirectory,
    school_id: i64,
    id: &str,
) -> StoreResult<Option<SessionRecord>> {
    let id = id.to_string();
    d.run(move |conn| {
        let q = sessions::table
            .filter(sessions::school_id.eq(school_id))
            .filter(sessions::id.eq(id));
        let rows = with_conn!(conn, |c| q.load::<SessionRow>(c))?;
        Ok(records(conn, rows)?.pop())
    })
    .await
}

pub async fn revoke(
    d: &SqlDirectory,
    school_id: i64,
    id: &str,
    audit: Audit<SessionRecord>,
) -> StoreResult<Option<SessionRecord>> {
    let which = Ending::Session(id.to_string());
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| Ok(end_sessions(conn, school_id, &which, now)?.pop());
    d.write(apply, when_some(audit)).await
}

/// Ends every session and refresh token of an account: the sessions that were live.
pub async fn end_all_of_user(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
    audit: Audit<Vec<SessionRecord>>,
) -> StoreResult<Vec<SessionRecord>> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| end_sessions(conn, school_id, &Ending::User(user_id), now);
    d.write(apply, always(audit)).await
}

/// Records that `client_id` got a token in the session; whether the session is live.
pub async fn add_client(
    d: &SqlDirectory,
    school_id: i64,
    session_id: &str,
    client_id: &str,
) -> StoreResult<bool> {
    let (session_id, client_id) = (session_id.to_string(), client_id.to_string());
    let now = gpki_idp_core::now();
    d.run(move |conn| {
        conn.write_transaction(|conn| {
            let live = sessions::table
                .filter(sessions::school_id.eq(school_id))
                .filter(sessions::id.eq(session_id.clone()))
                .filter(sessions::revoked.eq(false))
                .filter(sessions::expires_at.gt(now))
                .count();
            let values = (
                session_clients::session_id.eq(session_id.clone()),
                session_clients::client_id.eq(client_id),
                session_clients::school_id.eq(school_id),
                session_clients::created_at.eq(now),
            );
            with_conn!(conn, |c| {
                if live.get_result::<i64>(c)? == 0 {
                    return Ok::<_, DieselError>(false);
                }
                diesel::insert_into(session_clients::table)
                    .values(values)
                    .on_conflict_do_nothing()
                    .execute(c)?;
                Ok(true)
            })
        })
    })
    .await
}

/// Deletes up to `limit` sessions that expired before `before` (ended or not), soonest
/// expired first, and the clients recorded in them; how many sessions.
pub async fn prune(d: &SqlDirectory, before: i64, limit: i64) -> StoreResult<u64> {
    d.run(move |conn| {
        conn.write_transaction(|conn| {
            with_conn!(conn, |c| {
                let ids = sessions::table
                    .filter(sessions::expires_at.lt(before))
                    .order(sessions::expires_at.asc())
                    .select(sessions::id)
                    .limit(limit)
                    .load::<String>(c)?;
                diesel::delete(
                    session_clients::table.filter(session_clients::session_id.eq_any(&ids)),
                )
                .execute(c)?;
                diesel::delete(sessions::table.filter(sessions::id.eq_any(&ids)))
                    .execute(c)
                    .map(|n| n as u64)
            })
        })
    })
    .await
}
