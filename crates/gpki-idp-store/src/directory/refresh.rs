//! Refresh tokens (by hash): issued, rotated once (of two concurrent rotations one wins, and
//! the other is told, in the same transaction, whether it is a retry within the grace window
//! or a replay that ends the family), found, and revoked by family. Every write of a family
//! holds the family ([`LockFamily`]).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::{PgConnection, SqliteConnection};
use gpki_idp_core::model::{RefreshRecord, Rotation};
use gpki_idp_core::store::StoreResult;

use super::json;
use super::sql::SqlDirectory;
use crate::fixed::Fixed;
use crate::schema::refresh_tokens;
use crate::{with_conn, with_write_tx};

type RefreshValues = (
    diesel::dsl::Eq<refresh_tokens::token_hash, String>,
    diesel::dsl::Eq<refresh_tokens::family_id, String>,
    diesel::dsl::Eq<refresh_tokens::school_id, i64>,
    diesel::dsl::Eq<refresh_tokens::client_id, String>,
    diesel::dsl::Eq<refresh_tokens::user_id, i64>,
    diesel::dsl::Eq<refresh_tokens::scope, String>,
    diesel::dsl::Eq<refresh_tokens::auth_time, i64>,
    diesel::dsl::Eq<refresh_tokens::acr, String>,
    diesel::dsl::Eq<refresh_tokens::amr, String>,
    diesel::dsl::Eq<refresh_tokens::created_at, i64>,
    diesel::dsl::Eq<refresh_tokens::expires_at, i64>,
    diesel::dsl::Eq<refresh_tokens::used, bool>,
    diesel::dsl::Eq<refresh_tokens::revoked, bool>,
    diesel::dsl::Eq<refresh_tokens::session_id, Option<String>>,
);

fn refresh_values(r: RefreshRecord) -> RefreshValues {
    (
        refresh_tokens::token_hash.eq(r.token_hash),
        refresh_tokens::family_id.eq(r.family_id),
        refresh_tokens::school_id.eq(r.school_id),
        refresh_tokens::client_id.eq(r.client_id),
        refresh_tokens::user_id.eq(r.user_id),
        refresh_tokens::scope.eq(r.scope),
        refresh_tokens::auth_time.eq(r.auth_time),
        refresh_tokens::acr.eq(r.acr),
        refresh_tokens::amr.eq(json::text(&r.amr)),
        refresh_tokens::created_at.eq(r.created_at),
        refresh_tokens::expires_at.eq(r.expires_at),
        refresh_tokens::used.eq(r.used),
        refresh_tokens::revoked.eq(r.revoked),
        refresh_tokens::session_id.eq(r.session_id),
    )
}

#[derive(Queryable)]
struct RefreshRow {
    token_hash: String,
    family_id: String,
    school_id: i64,
    client_id: String,
    user_id: i64,
    scope: String,
    auth_time: i64,
    acr: String,
    amr: String,
    created_at: i64,
    expires_at: i64,
    used: bool,
    revoked: bool,
    session_id: Option<String>,
}

impl From<RefreshRow> for RefreshRecord {
    fn from(r: RefreshRow) -> Self {
        RefreshRecord {
            token_hash: r.token_hash,
            family_id: r.family_id,
            school_id: r.school_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            auth_time: r.auth_time,
            acr: r.acr,
            amr: json::list(&r.amr),
            created_at: r.created_at,
            expires_at: r.expires_at,
            used: r.used,
            revoked: r.revoked,
            session_id: r.session_id,
        }
    }
}

pub async fn insert(d: &SqlDirectory, r: RefreshRecord) -> StoreResult<()> {
    d.run(move |conn| {
        let values = refresh_values(r);
        with_conn!(conn, |c| diesel::insert_into(refresh_tokens::table)
            .values(values)
            .execute(c))
        .map(|_| ())
    })
    .await
}

/// Holds a family against every other write of it until the transaction ends. PostgreSQL
/// takes a transaction-level advisory lock keyed by the family id: a decision taken under
/// it sees every write of the family committed before, including successors inserted by
/// another replica (a plain `UPDATE … WHERE family_id` would not see a row inserted by a
/// transaction still in flight when the statement began). SQLite's write transactions
/// (`BEGIN IMMEDIATE`) are serial already.
trait LockFamily {
    fn lock_family(&mut self, family: &str) -> QueryResult<()>;
}

impl LockFamily for PgConnection {
    fn lock_family(&mut self, family: &str) -> QueryResult<()> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(family)
            .execute(self)
            .map(|_| ())
    }
}

impl LockFamily for SqliteConnection {
    fn lock_family(&mut self, _family: &str) -> QueryResult<()> {
        Ok(())
    }
}

/// Rotation, retry and replay decided in one transaction holding the family (see
/// [`gpki_idp_core::store::Directory::rotate_refresh`]).
pub async fn rotate(
    d: &SqlDirectory,
    school_id: i64,
    old_hash: &str,
    new: RefreshRecord,
    grace_since: Option<i64>,
) -> StoreResult<Rotation> {
    let old = old_hash.to_string();
    d.run(move |conn| {
        let (family, successor) = (new.family_id.clone(), new.token_hash.clone());
        let values = refresh_values(new);
        let in_school = refresh_tokens::school_id.eq(school_id);
        let presented = refresh_tokens::table
            .filter(in_school)
            .filter(refresh_tokens::token_hash.eq(old))
            .filter(refresh_tokens::used.eq(false))
            .filter(refresh_tokens::revoked.eq(false));
        let unused_successor = refresh_tokens::table
            .filter(in_school)
            .filter(refresh_tokens::token_hash.eq(successor))
            .filter(refresh_tokens::family_id.eq(family.clone()))
            .filter(refresh_tokens::used.eq(false))
            .filter(refresh_tokens::revoked.eq(false))
            .filter(refresh_tokens::created_at.ge(grace_since.unwrap_or(i64::MAX)))
            .select(refresh_tokens::token_hash);
        let whole_family = refresh_tokens::table
            .filter(in_school)
            .filter(refresh_tokens::family_id.eq(family.clone()));
        with_write_tx!(conn, |c| {
            c.lock_family(&family)?;
            // Conditional: of two presentations of one token only one rotates it.
            let changed =
                Fixed(diesel::update(presented).set(refresh_tokens::used.eq(true))).execute(c)?;
            if changed == 1 {
                diesel::insert_into(refresh_tokens::table)
                    .values(values)
                    .execute(c)?;
                return Ok(Rotation::Rotated);
            }
            if grace_since.is_some() && unused_successor.first::<String>(c).optional()?.is_some() {
                return Ok(Rotation::Again);
            }
            diesel::update(whole_family)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c)?;
            Ok::<_, DieselError>(Rotation::Replayed)
        })
    })
    .await
}

pub async fn by_hash(
    d: &SqlDirectory,
    school_id: i64,
    token_hash: &str,
) -> StoreResult<Option<RefreshRecord>> {
    let hash = token_hash.to_string();
    d.read(move |conn| {
        let q = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::token_hash.eq(hash));
        with_conn!(conn, |c| q.first::<RefreshRow>(c).optional())
            .map(|r| r.map(RefreshRecord::from))
    })
    .await
}

pub async fn revoke_family(d: &SqlDirectory, school_id: i64, family_id: &str) -> StoreResult<()> {
    let family = family_id.to_string();
    d.run(move |conn| {
        let q = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::family_id.eq(family.clone()));
        with_write_tx!(conn, |c| {
            c.lock_family(&family)?;
            diesel::update(q)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c)
                .map(|_| ())
        })
    })
    .await
}
