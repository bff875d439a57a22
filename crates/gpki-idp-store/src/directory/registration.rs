//! Self-registration: a school's rules (campus networks, whether an enrollment code is
//! required) and its one-time enrollment codes (by hash).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::EnrollmentCodeInfo;
use gpki_idp_core::policy::RegistrationRules;
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_true};
use super::json;
use super::names::{name_of, usernames};
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::{enrollment_codes, registration_rules};
use crate::with_conn;

pub async fn rules(d: &SqlDirectory, school_id: i64) -> StoreResult<RegistrationRules> {
    d.read(move |conn| {
        let q = registration_rules::table
            .filter(registration_rules::school_id.eq(school_id))
            .select((
                registration_rules::campus_cidrs,
                registration_rules::require_enrollment_code,
            ));
        let row = with_conn!(conn, |c| q.first::<(String, bool)>(c).optional())?;
        Ok(row
            .map(|(cidrs, require)| RegistrationRules {
                campus_cidrs: json::list(&cidrs),
                require_enrollment_code: require,
            })
            .unwrap_or_default())
    })
    .await
}

pub async fn set_rules(
    d: &SqlDirectory,
    school_id: i64,
    rules: RegistrationRules,
    audit: Audit<()>,
) -> StoreResult<()> {
    let cidrs = json::text(&rules.campus_cidrs);
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            diesel::delete(
                registration_rules::table.filter(registration_rules::school_id.eq(school_id)),
            )
            .execute(c)?;
            let values = (
                registration_rules::school_id.eq(school_id),
                registration_rules::campus_cidrs.eq(&cidrs),
                registration_rules::require_enrollment_code.eq(rules.require_enrollment_code),
                registration_rules::updated_at.eq(gpki_idp_core::now()),
            );
            diesel::insert_into(registration_rules::table)
                .values(values)
                .execute(c)
                .map(|_| ())
        })
    };
    d.write(apply, always(audit)).await
}

pub async fn add_code(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
    code_hash: &str,
    expires_at: i64,
    audit: Audit<i64>,
) -> StoreResult<i64> {
    let hash = code_hash.to_string();
    let apply = move |conn: &mut Conn| {
        let values = (
            enrollment_codes::code_hash.eq(hash),
            enrollment_codes::school_id.eq(school_id),
            enrollment_codes::user_id.eq(user_id),
            enrollment_codes::expires_at.eq(expires_at),
            enrollment_codes::used.eq(false),
            enrollment_codes::created_at.eq(gpki_idp_core::now()),
        );
        with_conn!(conn, |c| diesel::insert_into(enrollment_codes::table)
            .values(values)
            .returning(enrollment_codes::id)
            .get_result::<i64>(c))
    };
    d.write(apply, always(audit)).await
}

/// Uses an enrollment code of this user once, on `conn` (within a registration's
/// transaction): true when it was valid and unused.
pub(crate) fn use_code(
    conn: &mut Conn,
    school_id: i64,
    user_id: i64,
    code_hash: &str,
    now: i64,
) -> Result<bool, DieselError> {
    // One conditional update: valid, unused, this user's, not expired; two uses cannot both win.
    let target = enrollment_codes::table
        .filter(enrollment_codes::code_hash.eq(code_hash))
        .filter(enrollment_codes::school_id.eq(school_id))
        .filter(enrollment_codes::user_id.eq(user_id))
        .filter(enrollment_codes::used.eq(false))
        .filter(enrollment_codes::expires_at.ge(now));
    with_conn!(conn, |c| diesel::update(target)
        .set(enrollment_codes::used.eq(true))
        .execute(c))
    .map(|n| n == 1)
}

pub async fn list_codes(
    d: &SqlDirectory,
    school_id: i64,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<EnrollmentCodeInfo>> {
    type Row = (i64, i64, i64, i64, bool);
    d.run(move |conn| {
        let q = enrollment_codes::table
            .filter(enrollment_codes::school_id.eq(school_id))
            .filter(enrollment_codes::id.gt(after))
            .order(enrollment_codes::id.asc())
            .limit(limit)
            .select((
                enrollment_codes::id,
                enrollment_codes::user_id,
                enrollment_codes::created_at,
                enrollment_codes::expires_at,
                enrollment_codes::used,
            ));
        let (rows, names) = with_conn!(conn, |c| {
            let rows = q.load::<Row>(c)?;
            let names = usernames!(c, rows.iter().map(|r| r.1).collect::<Vec<i64>>())?;
            Ok::<_, DieselError>((rows, names))
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, user_id, created_at, expires_at, used)| EnrollmentCodeInfo {
                    id,
                    username: name_of(&names, user_id),
                    created_at,
                    expires_at,
                    used,
                },
            )
            .collect())
    })
    .await
}

pub async fn revoke_code(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let apply = move |conn: &mut Conn| {
        let q = enrollment_codes::table
            .filter(enrollment_codes::school_id.eq(school_id))
            .filter(enrollment_codes::id.eq(id));
        with_conn!(conn, |c| diesel::delete(q).execute(c)).map(|n| n > 0)
    };
    d.write(apply, when_true(audit)).await
}
