//! A session's end, inside the transaction of the change that ends it (a logout, the person
//! or an admin ending it, the account disabled, its card unbound): the sessions marked
//! revoked, the refresh tokens issued in them revoked, and one logout token queued for every
//! client that got a token in a live one and has a `backchannel_logout_uri` (Back-Channel
//! Logout 1.0). The queue is delivered by the server's sender ([`super::logout_queue`]).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::AuditEvent;
use gpki_idp_core::model::SessionRecord;
use serde_json::json;

use super::json;
use super::names::{name_of, usernames};
use crate::db::Conn;
use crate::schema::{clients, logout_messages, refresh_tokens, session_clients, sessions, users};
use crate::with_conn;

/// Which sessions end.
#[derive(Clone, Debug)]
pub(crate) enum Ending {
    /// One session (found again when it was ended before: ending twice is harmless).
    Session(String),
    /// Every session and every refresh token of an account.
    User(i64),
    /// Every session opened or stepped up with this certificate (SHA-256, hex), and the
    /// refresh tokens issued in them.
    Cert(String),
}

pub(crate) type SessionRow = (
    String,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The records of `rows`, with their usernames and the clients that got a token in them.
pub(crate) fn records(
    conn: &mut Conn,
    rows: Vec<SessionRow>,
) -> Result<Vec<SessionRecord>, DieselError> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let user_ids: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let got = session_clients::table
        .filter(session_clients::session_id.eq_any(ids))
        .order(session_clients::created_at.asc())
        .select((session_clients::session_id, session_clients::client_id));
    let (names, got) = with_conn!(conn, |c| {
        let names = usernames!(c, user_ids.clone())?;
        let got = got.load::<(String, String)>(c)?;
        Ok::<_, DieselError>((names, got))
    })?;
    Ok(rows
        .into_iter()
        .map(|r| SessionRecord {
            username: name_of(&names, r.2),
            clients: got
                .iter()
                .filter(|(s, _)| *s == r.0)
                .map(|(_, c)| c.clone())
                .collect(),
            id: r.0,
            school_id: r.1,
            user_id: r.2,
            acr: r.3,
            amr: json::list(&r.4),
            auth_time: r.5,
            expires_at: r.6,
            revoked: r.7,
            ip: r.8,
            user_agent: r.9,
            cert_sha256: r.10,
        })
        .collect())
}

/// Ends the sessions `which` picks, on `conn` inside the caller's transaction; returns them
/// as they were before. Those that were live (not ended, not expired at `now`) have their
/// clients told. One session asked for by id is returned even when it had ended.
pub(crate) fn end_sessions(
    conn: &mut Conn,
    school_id: i64,
    which: &Ending,
    now: i64,
) -> Result<Vec<SessionRecord>, DieselError> {
    let rows = with_conn!(conn, |c| {
        let q = sessions::table
            .filter(sessions::school_id.eq(school_id))
            .into_boxed();
        let q = match which {
            Ending::Session(id) => q.filter(sessions::id.eq(id.clone())),
            Ending::User(user) => q
                .filter(sessions::user_id.eq(*user))
                .filter(sessions::revoked.eq(false)),
            Ending::Cert(sha) => q
                .filter(sessions::cert_sha256.eq(sha.clone()))
                .filter(sessions::revoked.eq(false)),
        };
        q.load::<SessionRow>(c)
    })?;
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let ended = sessions::table
        .filter(sessions::school_id.eq(school_id))
        .filter(sessions::id.eq_any(ids.clone()));
    let tokens = refresh_tokens::table
        .filter(refresh_tokens::school_id.eq(school_id))
        .filter(refresh_tokens::session_id.eq_any(ids));
    with_conn!(conn, |c| {
        diesel::update(ended)
            .set(sessions::revoked.eq(true))
            .execute(c)?;
        diesel::update(tokens)
            .set(refresh_tokens::revoked.eq(true))
            .execute(c)
    })?;
    if let Ending::User(user) = which {
        let all = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::user_id.eq(*user));
        with_conn!(conn, |c| diesel::update(all)
            .set(refresh_tokens::revoked.eq(true))
            .execute(c))?;
    }
    let records = records(conn, rows)?;
    let live: Vec<&SessionRecord> = records
        .iter()
        .filter(|s| !s.revoked && s.expires_at > now)
        .collect();
    enqueue(conn, school_id, &live, now)?;
    Ok(records)
}

/// Queues one logout token per client of each session that wants to be told.
fn enqueue(
    conn: &mut Conn,
    school_id: i64,
    ended: &[&SessionRecord],
    now: i64,
) -> Result<(), DieselError> {
    for session in ended.iter().filter(|s| !s.clients.is_empty()) {
        let told = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::client_id.eq_any(session.clients.clone()))
            .filter(clients::backchannel_logout_uri.is_not_null())
            .select((clients::client_id, clients::backchannel_logout_uri));
        let subject = users::table
            .filter(users::id.eq(session.user_id))
            .select(users::subject);
        let (told, subject) = with_conn!(conn, |c| {
            let told = told.load::<(String, Option<String>)>(c)?;
            let subject = subject.first::<String>(c)?;
            Ok::<_, DieselError>((told, subject))
        })?;
        for (client_id, uri) in told {
            let values = (
                logout_messages::school_id.eq(school_id),
                logout_messages::client_id.eq(client_id),
                logout_messages::uri.eq(uri.unwrap_or_default()),
                logout_messages::session_id.eq(session.id.clone()),
                logout_messages::subject.eq(subject.clone()),
                logout_messages::created_at.eq(now),
                logout_messages::next_at.eq(now),
                logout_messages::claimed_until.eq(0),
                logout_messages::attempts.eq(0),
            );
            with_conn!(conn, |c| diesel::insert_into(logout_messages::table)
                .values(values)
                .execute(c))?;
        }
    }
    Ok(())
}

/// The events that say which sessions a change ended, by the actor of the change's own
/// event (`cause`): `session.end` per session that was live.
pub(crate) fn ended_events(
    cause: &[AuditEvent],
    ended: &[SessionRecord],
    reason: &str,
) -> Vec<AuditEvent> {
    let Some(first) = cause.first() else {
        return vec![];
    };
    ended
        .iter()
        .filter(|s| !s.revoked)
        .map(|s| {
            let mut e = first.clone();
            e.event = "session.end".into();
            e.outcome = "success".into();
            e.subject_user = Some(s.username.clone());
            e.detail = json!({"session": s.id, "reason": reason, "clients": s.clients});
            e
        })
        .collect()
}
