//! Login policy: the login methods each role of a school may use.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::policy::RolePolicy;
use gpki_idp_core::store::StoreResult;

use super::audited::always;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::login_policies;
use crate::with_conn;

pub async fn of_school(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<RolePolicy>> {
    d.read(move |conn| {
        let q = login_policies::table
            .filter(login_policies::school_id.eq(school_id))
            .select((login_policies::role, login_policies::methods))
            .order(login_policies::role.asc());
        let rows = with_conn!(conn, |c| q.load::<(String, String)>(c))?;
        Ok(rows
            .into_iter()
            .map(|(role, methods)| RolePolicy {
                role,
                methods: serde_json::from_str(&methods).unwrap_or_default(),
            })
            .collect())
    })
    .await
}

pub async fn replace(
    d: &SqlDirectory,
    school_id: i64,
    policy: Vec<RolePolicy>,
    audit: Audit<()>,
) -> StoreResult<()> {
    let now = gpki_idp_core::now();
    let rows: Vec<_> = policy
        .iter()
        .map(|p| {
            (
                login_policies::school_id.eq(school_id),
                login_policies::role.eq(p.role.clone()),
                login_policies::methods
                    .eq(serde_json::to_string(&p.methods).unwrap_or_else(|_| "[]".into())),
                login_policies::updated_at.eq(now),
            )
        })
        .collect();
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            diesel::delete(login_policies::table.filter(login_policies::school_id.eq(school_id)))
                .execute(c)?;
            if !rows.is_empty() {
                diesel::insert_into(login_policies::table)
                    .values(rows.clone())
                    .execute(c)?;
            }
            Ok::<_, DieselError>(())
        })
    };
    d.write(apply, always(audit)).await
}
