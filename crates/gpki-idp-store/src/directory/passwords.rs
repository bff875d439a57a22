//! Passwords through their life: the holder's own change (not temporary), and the history of
//! earlier passwords a new one is checked against.

use diesel::prelude::*;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::SchoolPasswordPolicy;
use gpki_idp_core::model::User;
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_some};
use super::sql::SqlDirectory;
use super::users::{keep_in_history, UserRow};
use crate::db::Conn;
use crate::schema::{password_history, password_policies, users};
use crate::with_conn;

/// Sets the password its holder chose: not temporary, changed now; the one it replaces joins
/// the history. `None` when there is no such account.
pub async fn set_own(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
    hash: String,
    audit: Audit<User>,
) -> StoreResult<Option<User>> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        keep_in_history(conn, school_id, user_id, now)?;
        let target = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::id.eq(user_id));
        let set = (
            users::password_hash.eq(Some(hash)),
            users::password_must_change.eq(false),
            users::password_changed_at.eq(Some(now)),
        );
        with_conn!(conn, |c| {
            diesel::update(target).set(set).execute(c)?;
            target.first::<UserRow>(c).optional()
        })
        .map(|r| r.map(User::from))
    };
    d.write(apply, when_some(audit)).await
}

/// The account's earlier password hashes, newest first, at most `limit`.
pub async fn history(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
    limit: i64,
) -> StoreResult<Vec<String>> {
    d.read(move |conn| {
        let q = password_history::table
            .filter(password_history::school_id.eq(school_id))
            .filter(password_history::user_id.eq(user_id))
            .order(password_history::id.desc())
            .limit(limit)
            .select(password_history::password_hash);
        with_conn!(conn, |c| q.load::<String>(c))
    })
    .await
}

/// The school's own password policy (the default, setting nothing, when it has none).
pub async fn school_policy(d: &SqlDirectory, school_id: i64) -> StoreResult<SchoolPasswordPolicy> {
    d.read(move |conn| {
        let q = password_policies::table
            .filter(password_policies::school_id.eq(school_id))
            .select(password_policies::policy);
        let text = with_conn!(conn, |c| q.first::<String>(c).optional())?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    })
    .await
}

/// Replaces the school's own password policy.
pub async fn set_school_policy(
    d: &SqlDirectory,
    school_id: i64,
    policy: SchoolPasswordPolicy,
    audit: Audit<()>,
) -> StoreResult<()> {
    let text = serde_json::to_string(&policy).unwrap_or_else(|_| "{}".into());
    let apply = move |conn: &mut Conn| {
        let mine = password_policies::table.filter(password_policies::school_id.eq(school_id));
        let values = (
            password_policies::school_id.eq(school_id),
            password_policies::policy.eq(text),
            password_policies::updated_at.eq(gpki_idp_core::now()),
        );
        with_conn!(conn, |c| {
            diesel::delete(mine).execute(c)?;
            diesel::insert_into(password_policies::table)
                .values(values)
                .execute(c)
                .map(|_| ())
        })
    };
    d.write(apply, always(audit)).await
}
