//! Login sessions as the admin sees them: recorded, listed after a cursor (live ones only),
//! and revoked with their refresh tokens.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::SessionRecord;
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_some};
use super::json;
use super::sql::SqlDirectory;
use super::users::{name_of, usernames};
use crate::db::Conn;
use crate::schema::{refresh_tokens, sessions};
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
    );
    let insert = move |conn: &mut Conn| {
        with_conn!(conn, |c| diesel::insert_into(sessions::table)
            .values(values)
            .execute(c))
        .map(|_| ())
    };
    d.write(insert, always(audit)).await
}

type SessionRow = (String, i64, i64, String, String, i64, i64, bool);

fn session_record(r: SessionRow, names: &[(i64, String)]) -> SessionRecord {
    SessionRecord {
        username: name_of(names, r.2),
        id: r.0,
        school_id: r.1,
        user_id: r.2,
        acr: r.3,
        amr: json::list(&r.4),
        auth_time: r.5,
        expires_at: r.6,
    }
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
        let (rows, names) = with_conn!(conn, |c| {
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
            let rows = q.load::<SessionRow>(c)?;
            let names = usernames!(c, rows.iter().map(|r| r.2).collect::<Vec<i64>>())?;
            Ok::<_, DieselError>((rows, names))
        })?;
        Ok(rows
            .into_iter()
            .map(|r| session_record(r, &names))
            .collect())
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
        with_conn!(conn, |c| {
            let Some(row) = q.first::<SessionRow>(c).optional()? else {
                return Ok(None);
            };
            let names = usernames!(c, vec![row.2])?;
            Ok::<_, DieselError>(Some(session_record(row, &names)))
        })
    })
    .await
}

pub async fn revoke(
    d: &SqlDirectory,
    school_id: i64,
    id: &str,
    audit: Audit<SessionRecord>,
) -> StoreResult<Option<SessionRecord>> {
    let id = id.to_string();
    let apply = move |conn: &mut Conn| {
        let target = sessions::table
            .filter(sessions::school_id.eq(school_id))
            .filter(sessions::id.eq(id.clone()));
        let tokens = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::session_id.eq(id.clone()));
        with_conn!(conn, |c| {
            let Some(row) = target.clone().first::<SessionRow>(c).optional()? else {
                return Ok(None);
            };
            diesel::update(target)
                .set(sessions::revoked.eq(true))
                .execute(c)?;
            diesel::update(tokens)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c)?;
            let names = usernames!(c, vec![row.2])?;
            Ok::<_, DieselError>(Some(session_record(row, &names)))
        })
    };
    d.write(apply, when_some(audit)).await
}
