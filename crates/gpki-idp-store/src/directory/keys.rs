//! A school's ID-token signing keys: listed newest first, added, and retired but for one.

use diesel::prelude::*;
use gpki_idp_core::model::KeyRecord;
use gpki_idp_core::store::StoreResult;

use super::sql::SqlDirectory;
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

pub async fn add(d: &SqlDirectory, school_id: i64, key: KeyRecord) -> StoreResult<()> {
    d.run(move |conn| {
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
    })
    .await
}

pub async fn retire_except(
    d: &SqlDirectory,
    school_id: i64,
    alg: &str,
    keep_kid: &str,
    at: i64,
) -> StoreResult<()> {
    let (alg, keep) = (alg.to_string(), keep_kid.to_string());
    d.run(move |conn| {
        let target = signing_keys::table
            .filter(signing_keys::school_id.eq(school_id))
            .filter(signing_keys::alg.eq(alg))
            .filter(signing_keys::kid.ne(keep))
            .filter(signing_keys::retired_at.is_null());
        with_conn!(conn, |c| diesel::update(target)
            .set(signing_keys::retired_at.eq(Some(at)))
            .execute(c))
        .map(|_| ())
    })
    .await
}
