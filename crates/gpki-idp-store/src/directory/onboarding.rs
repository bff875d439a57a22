//! Creating schools (one, or a district's onboarding list): every new school with its signing keys and first
//! accounts, in one transaction.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::{NewSchool, School};
use gpki_idp_core::store::StoreResult;

use super::audited::always;
use super::schools::SchoolRow;
use super::sql::SqlDirectory;
use super::users::{new_user_values, NewUserValues};
use crate::db::Conn;
use crate::schema::{schools, signing_keys, users};
use crate::with_conn;

/// Rows inserted per statement (PostgreSQL allows 65,535 parameters).
const CHUNK: usize = 500;

type KeyValues = (
    diesel::dsl::Eq<signing_keys::school_id, i64>,
    diesel::dsl::Eq<signing_keys::kid, String>,
    diesel::dsl::Eq<signing_keys::alg, String>,
    diesel::dsl::Eq<signing_keys::private_pkcs8, Vec<u8>>,
    diesel::dsl::Eq<signing_keys::created_at, i64>,
    diesel::dsl::Eq<signing_keys::retired_at, Option<i64>>,
);

/// The key and account rows of a school once its id is known.
fn rows_of(id: i64, s: NewSchool, now: i64) -> (Vec<KeyValues>, Vec<NewUserValues>) {
    let keys = s
        .keys
        .into_iter()
        .map(|k| {
            (
                signing_keys::school_id.eq(id),
                signing_keys::kid.eq(k.kid),
                signing_keys::alg.eq(k.alg),
                signing_keys::private_pkcs8.eq(k.private_pkcs8),
                signing_keys::created_at.eq(k.created_at),
                signing_keys::retired_at.eq(k.retired_at),
            )
        })
        .collect();
    let accounts = s
        .users
        .into_iter()
        .map(|mut u| {
            u.school_id = id;
            new_user_values(u, false, now)
        })
        .collect();
    (keys, accounts)
}

pub async fn create_schools(
    d: &SqlDirectory,
    list: Vec<NewSchool>,
    audit: Audit<Vec<School>>,
) -> StoreResult<Vec<School>> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            let (mut created, mut keys, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
            for s in list {
                let values = (
                    schools::code.eq(s.code.clone()),
                    schools::name.eq(s.name.clone()),
                    schools::disabled.eq(false),
                    schools::district.eq(s.district),
                    schools::created_at.eq(now),
                );
                let row: SchoolRow = diesel::insert_into(schools::table)
                    .values(values)
                    .get_result(c)?;
                let school = School::from(row);
                let (k, a) = rows_of(school.id, s, now);
                keys.extend(k);
                accounts.extend(a);
                created.push(school);
            }
            for chunk in keys.chunks(CHUNK) {
                diesel::insert_into(signing_keys::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
            for chunk in accounts.chunks(CHUNK) {
                diesel::insert_into(users::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
            Ok::<_, DieselError>(created)
        })
    };
    d.write(apply, always(audit)).await
}
