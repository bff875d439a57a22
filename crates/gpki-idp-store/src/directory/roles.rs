//! Roles: those the accounts of a school hold, and the school's own roles beyond the built-in
//! ones (removing one removes its login policy too).

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::store::StoreResult;

use super::audited::when_true;
use super::json;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::{login_policies, school_roles, users};
use crate::with_conn;

pub async fn of_users(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<Vec<String>>> {
    d.run(move |conn| {
        let q = users::table
            .filter(users::school_id.eq(school_id))
            .select(users::roles);
        with_conn!(conn, |c| q.load::<String>(c)).map(|r| r.iter().map(|j| json::list(j)).collect())
    })
    .await
}

pub async fn custom(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<String>> {
    d.run(move |conn| {
        let q = school_roles::table
            .filter(school_roles::school_id.eq(school_id))
            .select(school_roles::role)
            .order(school_roles::role.asc());
        with_conn!(conn, |c| q.load::<String>(c))
    })
    .await
}

pub async fn add(
    d: &SqlDirectory,
    school_id: i64,
    role: &str,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let role = role.to_string();
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            let exists = school_roles::table
                .filter(school_roles::school_id.eq(school_id))
                .filter(school_roles::role.eq(&role))
                .count()
                .get_result::<i64>(c)?
                > 0;
            if !exists {
                let values = (
                    school_roles::school_id.eq(school_id),
                    school_roles::role.eq(&role),
                    school_roles::created_at.eq(gpki_idp_core::now()),
                );
                diesel::insert_into(school_roles::table)
                    .values(values)
                    .execute(c)?;
            }
            Ok::<_, DieselError>(!exists)
        })
    };
    d.write(apply, when_true(audit)).await
}

pub async fn remove(
    d: &SqlDirectory,
    school_id: i64,
    role: &str,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let role = role.to_string();
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            let q = school_roles::table
                .filter(school_roles::school_id.eq(school_id))
                .filter(school_roles::role.eq(&role));
            let n = diesel::delete(q).execute(c)?;
            let policy = login_policies::table
                .filter(login_policies::school_id.eq(school_id))
                .filter(login_policies::role.eq(&role));
            diesel::delete(policy).execute(c)?;
            Ok::<_, DieselError>(n > 0)
        })
    };
    d.write(apply, when_true(audit)).await
}
