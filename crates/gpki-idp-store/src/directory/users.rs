//! Accounts: found by name or id, created, searched and listed after a cursor, changed, and
//! imported in bulk.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::{NewUser, SessionRecord, User, UserChange};
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_some};
use super::ending::{end_sessions, ended_events, Ending};
use super::json;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::{password_history, users};
use crate::with_conn;

/// Rows inserted per statement in a bulk import (PostgreSQL allows 65,535 parameters).
const IMPORT_CHUNK: usize = 1000;

#[derive(Queryable)]
pub(crate) struct UserRow {
    id: i64,
    school_id: i64,
    username: String,
    subject: String,
    display_name: String,
    password_hash: Option<String>,
    roles: String,
    disabled: bool,
    _created_at: i64,
    password_must_change: bool,
    password_changed_at: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            school_id: r.school_id,
            username: r.username,
            subject: r.subject,
            display_name: r.display_name,
            password_hash: r.password_hash,
            roles: json::list(&r.roles),
            disabled: r.disabled,
            password_must_change: r.password_must_change,
            password_changed_at: r.password_changed_at,
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    display_name: Option<String>,
    roles: Option<String>,
    disabled: Option<bool>,
    password_hash: Option<Option<String>>,
    password_must_change: Option<bool>,
    password_changed_at: Option<Option<i64>>,
}

impl UserChangeset {
    /// A password set through a change is set by someone else: temporary.
    fn from(change: UserChange, now: i64) -> Option<Self> {
        let empty = change.display_name.is_none()
            && change.roles.is_none()
            && change.disabled.is_none()
            && change.password_hash.is_none();
        (!empty).then(|| UserChangeset {
            display_name: change.display_name,
            roles: change.roles.map(|r| json::text(&r)),
            disabled: change.disabled,
            password_must_change: change.password_hash.as_ref().map(Option::is_some),
            password_changed_at: change.password_hash.as_ref().map(|_| Some(now)),
            password_hash: change.password_hash,
        })
    }
}

/// `%q%` for LIKE, with the pattern characters of `q` escaped.
fn contains_pattern(q: &str) -> String {
    let escaped: String = q
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

pub async fn by_username(
    d: &SqlDirectory,
    school_id: i64,
    username: &str,
) -> StoreResult<Option<User>> {
    let username = username.to_string();
    d.read(move |conn| {
        let q = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::username.eq(username));
        with_conn!(conn, |c| q.first::<UserRow>(c).optional()).map(|r| r.map(User::from))
    })
    .await
}

pub async fn by_id(d: &SqlDirectory, school_id: i64, id: i64) -> StoreResult<Option<User>> {
    d.read(move |conn| {
        let q = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::id.eq(id));
        with_conn!(conn, |c| q.first::<UserRow>(c).optional()).map(|r| r.map(User::from))
    })
    .await
}

pub async fn add(
    d: &SqlDirectory,
    user: NewUser,
    disabled: bool,
    audit: Audit<User>,
) -> StoreResult<User> {
    let values = new_user_values(user, disabled, gpki_idp_core::now());
    let insert = move |conn: &mut Conn| {
        with_conn!(conn, |c| diesel::insert_into(users::table)
            .values(values)
            .get_result::<UserRow>(c))
        .map(User::from)
    };
    d.write(insert, always(audit)).await
}

pub async fn list(
    d: &SqlDirectory,
    school_id: i64,
    after: i64,
    limit: i64,
    q: Option<String>,
) -> StoreResult<Vec<User>> {
    d.run(move |conn| {
        with_conn!(conn, |c| {
            let mut query = users::table
                .filter(users::school_id.eq(school_id))
                .filter(users::id.gt(after))
                .order(users::id.asc())
                .limit(limit)
                .into_boxed();
            if let Some(q) = &q {
                let pattern = contains_pattern(q);
                query = query.filter(
                    users::username
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::display_name.like(pattern).escape('\\')),
                );
            }
            query.load::<UserRow>(c)
        })
        .map(|r| r.into_iter().map(Into::into).collect())
    })
    .await
}

pub async fn update(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
    change: UserChange,
    audit: Audit<User>,
) -> StoreResult<Option<User>> {
    // Disabling an account ends its sessions and refresh tokens in the same transaction.
    let disables = change.disabled == Some(true);
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        let target = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::id.eq(id));
        let new_password = change.password_hash.is_some();
        if new_password {
            keep_in_history(conn, school_id, id, now)?;
        }
        let user = with_conn!(conn, |c| {
            if let Some(set) = UserChangeset::from(change, now) {
                diesel::update(target).set(set).execute(c)?;
            }
            target.first::<UserRow>(c).optional()
        })
        .map(|r| r.map(User::from))?;
        let ended = match &user {
            Some(_) if disables => end_sessions(conn, school_id, &Ending::User(id), now)?,
            _ => vec![],
        };
        Ok((user, ended))
    };
    let events = move |(user, ended): &(Option<User>, Vec<SessionRecord>)| {
        let cause = when_some(audit)(user);
        let more = ended_events(&cause, ended, "user.disabled");
        cause.into_iter().chain(more).collect()
    };
    Ok(d.write(apply, events).await?.0)
}

pub async fn by_usernames(
    d: &SqlDirectory,
    school_id: i64,
    names: Vec<String>,
) -> StoreResult<Vec<User>> {
    d.run(move |conn| {
        let mut found = Vec::new();
        // Chunks keep each statement's parameter count small on both backends.
        for chunk in names.chunks(IMPORT_CHUNK) {
            let q = users::table
                .filter(users::school_id.eq(school_id))
                .filter(users::username.eq_any(chunk.to_vec()));
            found.extend(
                with_conn!(conn, |c| q.load::<UserRow>(c))?
                    .into_iter()
                    .map(User::from),
            );
        }
        Ok(found)
    })
    .await
}

/// The columns of a new account: a fresh subject, created `now`.
pub(crate) type NewUserValues = (
    diesel::dsl::Eq<users::school_id, i64>,
    diesel::dsl::Eq<users::username, String>,
    diesel::dsl::Eq<users::subject, String>,
    diesel::dsl::Eq<users::display_name, String>,
    diesel::dsl::Eq<users::password_hash, Option<String>>,
    diesel::dsl::Eq<users::roles, String>,
    diesel::dsl::Eq<users::disabled, bool>,
    diesel::dsl::Eq<users::created_at, i64>,
    diesel::dsl::Eq<users::password_must_change, bool>,
    diesel::dsl::Eq<users::password_changed_at, Option<i64>>,
);

pub(crate) fn new_user_values(u: NewUser, disabled: bool, now: i64) -> NewUserValues {
    let has_password = u.password_hash.is_some();
    (
        users::school_id.eq(u.school_id),
        users::username.eq(u.username),
        users::subject.eq(uuid::Uuid::new_v4().to_string()),
        users::display_name.eq(u.display_name),
        users::password_hash.eq(u.password_hash),
        users::roles.eq(json::text(&u.roles)),
        users::disabled.eq(disabled),
        users::created_at.eq(now),
        users::password_must_change.eq(u.password_must_change && has_password),
        users::password_changed_at.eq(has_password.then_some(now)),
    )
}

pub async fn import(
    d: &SqlDirectory,
    creates: Vec<NewUser>,
    updates: Vec<(i64, UserChange)>,
    audit: Audit<()>,
) -> StoreResult<()> {
    let now = gpki_idp_core::now();
    let rows: Vec<NewUserValues> = creates
        .into_iter()
        .map(|u| new_user_values(u, false, now))
        .collect();
    let disabled: Vec<i64> = updates
        .iter()
        .filter(|(_, c)| c.disabled == Some(true))
        .map(|(id, _)| *id)
        .collect();
    let apply = move |conn: &mut Conn| {
        with_conn!(conn, |c| {
            for chunk in rows.chunks(IMPORT_CHUNK) {
                diesel::insert_into(users::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
            for (id, change) in updates {
                if let Some(set) = UserChangeset::from(change, now) {
                    diesel::update(users::table.filter(users::id.eq(id)))
                        .set(set)
                        .execute(c)?;
                }
            }
            Ok::<_, DieselError>(())
        })?;
        // Accounts the import disables lose their sessions and refresh tokens with it.
        let mut ended = vec![];
        for id in disabled {
            let school = users::table
                .filter(users::id.eq(id))
                .select(users::school_id);
            let school_id = with_conn!(conn, |c| school.first::<i64>(c))?;
            ended.extend(end_sessions(conn, school_id, &Ending::User(id), now)?);
        }
        Ok(ended)
    };
    let events = move |ended: &Vec<SessionRecord>| {
        let cause = always(audit)(&());
        let more = ended_events(&cause, ended, "user.disabled");
        cause.into_iter().chain(more).collect()
    };
    d.write(apply, events).await.map(|_| ())
}

/// Earlier passwords kept per account, whatever a school's policy asks (at most 24, as the
/// policy allows): the oldest beyond it are removed when a password changes.
pub const HISTORY_KEPT: i64 = 24;

/// Puts the account's present password hash (if it has one) in its history, and removes the
/// oldest beyond [`HISTORY_KEPT`]. On a change's connection, inside its transaction.
pub(crate) fn keep_in_history(
    conn: &mut Conn,
    school_id: i64,
    user_id: i64,
    now: i64,
) -> Result<(), DieselError> {
    let current = users::table
        .filter(users::school_id.eq(school_id))
        .filter(users::id.eq(user_id))
        .select(users::password_hash);
    let found: Option<Option<String>> =
        with_conn!(conn, |c| current.first::<Option<String>>(c).optional())?;
    let Some(Some(hash)) = found else {
        return Ok(());
    };
    let values = (
        password_history::school_id.eq(school_id),
        password_history::user_id.eq(user_id),
        password_history::password_hash.eq(hash),
        password_history::created_at.eq(now),
    );
    with_conn!(conn, |c| diesel::insert_into(password_history::table)
        .values(values)
        .execute(c))?;
    let kept = password_history::table
        .filter(password_history::user_id.eq(user_id))
        .order(password_history::id.desc())
        .limit(HISTORY_KEPT)
        .select(password_history::id);
    let kept: Vec<i64> = with_conn!(conn, |c| kept.load::<i64>(c))?;
    let old = password_history::table
        .filter(password_history::user_id.eq(user_id))
        .filter(password_history::id.ne_all(kept));
    with_conn!(conn, |c| diesel::delete(old).execute(c))?;
    Ok(())
}
