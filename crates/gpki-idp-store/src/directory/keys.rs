//! A school's ID-token signing keys: listed newest first, added, and (a rotation) the others
//! of their algorithm retired.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::KeyRecord;
use gpki_idp_core::store::StoreResult;

use super::audited::always;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::signing_keys;
use crate::with_conn;

#[derive(Queryable)]
struct KeyRow {
    _id: i64,
    _school_id: i64,
    kid: String,
    alg: String,
    private_pkcs8: Vec<u8>,
    created_at: i64,
    retired_at: Option<i64>,
}

pub async fn list(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<KeyRecord>> {
    d.read(move |conn| {
        let q = signing_keys::table
            .filter(signing_keys::school_id.eq(school_id))
            .order(signing_keys::id.desc());
        let rows = with_conn!(conn, |c| q.load::<KeyRow>(c))?;
        Ok(rows
            .into_iter()
            .map(|r| KeyRecord {
                kid: r.kid,
                alg: r.alg,
                private_pkcs8: r.private_pkcs8,
                created_at: r.created_at,
                retired_at: r.retired_at,
            })
            .collect())
    })
    .await
}

/// Adds `keys`; with `retire_others_at`, retires every other active key of their algorithms
/// at that time (a rotation), in the same transaction as the audit.
pub async fn add(
    d: &SqlDirectory,
    school_id: i64,
    keys: Vec<KeyRecord>,
    retire_others_at: Option<i64>,
    audit: Audit<()>,
) -> StoreResult<()> {
    let apply = move |conn: &mut Conn| {
        for key in keys {
            let (alg, kid) = (key.alg.clone(), key.kid.clone());
            insert(conn, school_id, key)?;
            if let Some(at) = retire_others_at {
                retire_except(conn, school_id, &alg, &kid, at)?;
            }
        }
        Ok(())
    };
    d.write(apply, always(audit)).await
}

fn insert(conn: &mut Conn, school_id: i64, key: KeyRecord) -> Result<(), DieselError> {
    let values = (
        signing_keys::school_id.eq(school_id),
        signing_keys::kid.eq(key.kid),
        signing_keys::alg.eq(key.alg),
        signing_keys::private_pkcs8.eq(key.private_pkcs8),
        signing_keys::created_at.eq(key.created_at),
        signing_keys::retired_at.eq(key.retired_at),
    );
    with_conn!(conn, |c| diesel::insert_into(signing_keys::table)
        .values(values)
        .execute(c))
    .map(|_| ())
}

/// Retires every active `alg` key of the school but `keep`.
fn retire_except(
    conn: &mut Conn,
    school_id: i64,
    alg: &str,
    keep: &str,
    at: i64,
) -> Result<(), DieselError> {
    let target = signing_keys::table
        .filter(signing_keys::school_id.eq(school_id))
        .filter(signing_keys::alg.eq(alg))
        .filter(signing_keys::kid.ne(keep))
        .filter(signing_keys::retired_at.is_null());
    with_conn!(conn, |c| diesel::update(target)
        .set(signing_keys::retired_at.eq(Some(at)))
        .execute(c))
    .map(|_| ())
}
