//! The queries behind the admin API: lists after a cursor, changes, bulk import, sessions and
//! audit search. Written once for PostgreSQL and SQLite, like the rest of [`SqlDirectory`].

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::{AuditEvent, AuditFilter};
use gpki_idp_core::model::{
    CertBinding, Client, EnrollmentCodeInfo, NewClient, NewUser, School, SessionRecord, User,
    UserChange,
};
use gpki_idp_core::policy::RolePolicy;
use gpki_idp_core::store::StoreResult;

use crate::directory::{
    list, to_json, BindingRow, ClientRow, ClientSettings, SchoolRow, SqlDirectory, UserRow,
};
use crate::schema::{
    audit_events, cert_bindings, clients, enrollment_codes, login_policies, refresh_tokens,
    school_roles, schools, sessions, users,
};
use crate::{with_conn, with_write_tx};

/// Rows inserted per statement in a bulk import (PostgreSQL allows 65,535 parameters).
const IMPORT_CHUNK: usize = 1000;

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeset {
    display_name: Option<String>,
    roles: Option<String>,
    disabled: Option<bool>,
    password_hash: Option<Option<String>>,
}

impl UserChangeset {
    fn from(change: UserChange) -> Option<Self> {
        let empty = change.display_name.is_none()
            && change.roles.is_none()
            && change.disabled.is_none()
            && change.password_hash.is_none();
        (!empty).then(|| UserChangeset {
            display_name: change.display_name,
            roles: change.roles.map(|r| to_json(&r)),
            disabled: change.disabled,
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

pub async fn school_by_id(d: &SqlDirectory, id: i64) -> StoreResult<Option<School>> {
    d.run(move |conn| {
        let q = schools::table.filter(schools::id.eq(id));
        with_conn!(conn, |c| q.first::<SchoolRow>(c).optional()).map(|r| r.map(School::from))
    })
    .await
}

pub async fn list_schools(d: &SqlDirectory, after: i64, limit: i64) -> StoreResult<Vec<School>> {
    d.run(move |conn| {
        let q = schools::table
            .filter(schools::id.gt(after))
            .order(schools::id.asc())
            .limit(limit);
        with_conn!(conn, |c| q.load::<SchoolRow>(c))
            .map(|r| r.into_iter().map(Into::into).collect())
    })
    .await
}

pub async fn update_school(
    d: &SqlDirectory,
    id: i64,
    name: Option<String>,
    disabled: Option<bool>,
    district: Option<bool>,
) -> StoreResult<Option<School>> {
    d.run(move |conn| {
        with_write_tx!(conn, |c| {
            let target = schools::table.filter(schools::id.eq(id));
            if let Some(name) = &name {
                diesel::update(target)
                    .set(schools::name.eq(name))
                    .execute(c)?;
            }
            if let Some(disabled) = disabled {
                diesel::update(target)
                    .set(schools::disabled.eq(disabled))
                    .execute(c)?;
            }
            if let Some(district) = district {
                diesel::update(target)
                    .set(schools::district.eq(district))
                    .execute(c)?;
            }
            target.first::<SchoolRow>(c).optional()
        })
        .map(|r| r.map(School::from))
    })
    .await
}

pub async fn list_users(
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

pub async fn update_user(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
    change: UserChange,
) -> StoreResult<Option<User>> {
    d.run(move |conn| {
        let target = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::id.eq(id));
        with_write_tx!(conn, |c| {
            if let Some(set) = UserChangeset::from(change) {
                diesel::update(target).set(set).execute(c)?;
            }
            target.first::<UserRow>(c).optional()
        })
        .map(|r| r.map(User::from))
    })
    .await
}

pub async fn users_by_usernames(
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

pub(crate) type NewUserValues = (
    diesel::dsl::Eq<users::school_id, i64>,
    diesel::dsl::Eq<users::username, String>,
    diesel::dsl::Eq<users::subject, String>,
    diesel::dsl::Eq<users::display_name, String>,
    diesel::dsl::Eq<users::password_hash, Option<String>>,
    diesel::dsl::Eq<users::roles, String>,
    diesel::dsl::Eq<users::disabled, bool>,
    diesel::dsl::Eq<users::created_at, i64>,
);

pub(crate) fn new_user_values(u: NewUser, now: i64) -> NewUserValues {
    (
        users::school_id.eq(u.school_id),
        users::username.eq(u.username),
        users::subject.eq(uuid::Uuid::new_v4().to_string()),
        users::display_name.eq(u.display_name),
        users::password_hash.eq(u.password_hash),
        users::roles.eq(to_json(&u.roles)),
        users::disabled.eq(false),
        users::created_at.eq(now),
    )
}

pub async fn import_users(
    d: &SqlDirectory,
    creates: Vec<NewUser>,
    updates: Vec<(i64, UserChange)>,
) -> StoreResult<()> {
    d.run(move |conn| {
        let now = gpki_idp_core::now();
        let rows: Vec<NewUserValues> = creates
            .into_iter()
            .map(|u| new_user_values(u, now))
            .collect();
        with_write_tx!(conn, |c| {
            for chunk in rows.chunks(IMPORT_CHUNK) {
                diesel::insert_into(users::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
            for (id, change) in updates {
                if let Some(set) = UserChangeset::from(change) {
                    diesel::update(users::table.filter(users::id.eq(id)))
                        .set(set)
                        .execute(c)?;
                }
            }
            Ok::<_, DieselError>(())
        })
    })
    .await
}

pub async fn binding_counts(
    d: &SqlDirectory,
    school_id: i64,
    user_ids: Vec<i64>,
) -> StoreResult<Vec<(i64, i64)>> {
    d.run(move |conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::user_id.eq_any(user_ids))
            .group_by(cert_bindings::user_id)
            .select((cert_bindings::user_id, count_star()));
        with_conn!(conn, |c| q.load::<(i64, i64)>(c))
    })
    .await
}

pub async fn user_roles(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<Vec<String>>> {
    d.run(move |conn| {
        let q = users::table
            .filter(users::school_id.eq(school_id))
            .select(users::roles);
        with_conn!(conn, |c| q.load::<String>(c)).map(|r| r.iter().map(|j| list(j)).collect())
    })
    .await
}

pub async fn custom_roles(d: &SqlDirectory, school_id: i64) -> StoreResult<Vec<String>> {
    d.run(move |conn| {
        let q = school_roles::table
            .filter(school_roles::school_id.eq(school_id))
            .select(school_roles::role)
            .order(school_roles::role.asc());
        with_conn!(conn, |c| q.load::<String>(c))
    })
    .await
}

pub async fn add_role(d: &SqlDirectory, school_id: i64, role: &str) -> StoreResult<bool> {
    let role = role.to_string();
    d.run(move |conn| {
        with_write_tx!(conn, |c| {
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
    })
    .await
}

pub async fn remove_role(d: &SqlDirectory, school_id: i64, role: &str) -> StoreResult<bool> {
    let role = role.to_string();
    d.run(move |conn| {
        with_write_tx!(conn, |c| {
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
    })
    .await
}

pub async fn list_bindings(
    d: &SqlDirectory,
    school_id: i64,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<CertBinding>> {
    d.run(move |conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::id.gt(after))
            .order(cert_bindings::id.asc())
            .limit(limit);
        with_conn!(conn, |c| q.load::<BindingRow>(c))
            .map(|r| r.into_iter().map(Into::into).collect())
    })
    .await
}

pub async fn remove_binding_by_id(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
) -> StoreResult<Option<CertBinding>> {
    d.run(move |conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::id.eq(id));
        with_write_tx!(conn, |c| {
            let found = q.first::<BindingRow>(c).optional()?;
            if found.is_some() {
                diesel::delete(q).execute(c)?;
            }
            Ok::<_, DieselError>(found.map(CertBinding::from))
        })
    })
    .await
}

/// user id → username for a set of ids, on the connection `$c` of either backend.
macro_rules! usernames {
    ($c:expr, $ids:expr) => {
        users::table
            .filter(users::id.eq_any($ids))
            .select((users::id, users::username))
            .load::<(i64, String)>($c)
    };
}

fn name_of(names: &[(i64, String)], id: i64) -> String {
    names
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default()
}

pub async fn list_enrollment_codes(
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

pub async fn revoke_enrollment_code(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
) -> StoreResult<bool> {
    d.run(move |conn| {
        let q = enrollment_codes::table
            .filter(enrollment_codes::school_id.eq(school_id))
            .filter(enrollment_codes::id.eq(id));
        with_conn!(conn, |c| diesel::delete(q).execute(c)).map(|n| n > 0)
    })
    .await
}

pub async fn list_clients(
    d: &SqlDirectory,
    school_id: i64,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Client>> {
    d.run(move |conn| {
        let q = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::id.gt(after))
            .order(clients::id.asc())
            .limit(limit);
        with_conn!(conn, |c| q.load::<ClientRow>(c))
            .map(|r| r.into_iter().map(Into::into).collect())
    })
    .await
}

pub async fn update_client(d: &SqlDirectory, cl: Client) -> StoreResult<bool> {
    d.run(move |conn| {
        let target = clients::table
            .filter(clients::school_id.eq(cl.school_id))
            .filter(clients::client_id.eq(cl.client_id.clone()));
        let values = ClientSettings::from(NewClient::from(cl));
        with_conn!(conn, |c| diesel::update(target).set(&values).execute(c)).map(|n| n > 0)
    })
    .await
}

pub async fn delete_client(d: &SqlDirectory, school_id: i64, client_id: &str) -> StoreResult<bool> {
    let client_id = client_id.to_string();
    d.run(move |conn| {
        let q = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::client_id.eq(client_id.clone()));
        let tokens = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::client_id.eq(client_id.clone()));
        with_write_tx!(conn, |c| {
            diesel::update(tokens)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c)?;
            diesel::delete(q).execute(c).map(|n| n > 0)
        })
    })
    .await
}

pub async fn replace_policy(
    d: &SqlDirectory,
    school_id: i64,
    policy: Vec<RolePolicy>,
) -> StoreResult<()> {
    d.run(move |conn| {
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
        with_write_tx!(conn, |c| {
            diesel::delete(login_policies::table.filter(login_policies::school_id.eq(school_id)))
                .execute(c)?;
            if !rows.is_empty() {
                diesel::insert_into(login_policies::table)
                    .values(rows.clone())
                    .execute(c)?;
            }
            Ok::<_, DieselError>(())
        })
    })
    .await
}

pub async fn add_session(d: &SqlDirectory, s: SessionRecord) -> StoreResult<()> {
    d.run(move |conn| {
        let values = (
            sessions::id.eq(s.id),
            sessions::school_id.eq(s.school_id),
            sessions::user_id.eq(s.user_id),
            sessions::acr.eq(s.acr),
            sessions::amr.eq(to_json(&s.amr)),
            sessions::auth_time.eq(s.auth_time),
            sessions::expires_at.eq(s.expires_at),
            sessions::revoked.eq(false),
        );
        with_conn!(conn, |c| diesel::insert_into(sessions::table)
            .values(values)
            .execute(c))
        .map(|_| ())
    })
    .await
}

type SessionRow = (String, i64, i64, String, String, i64, i64, bool);

fn session_record(r: SessionRow, names: &[(i64, String)]) -> SessionRecord {
    SessionRecord {
        username: name_of(names, r.2),
        id: r.0,
        school_id: r.1,
        user_id: r.2,
        acr: r.3,
        amr: list(&r.4),
        auth_time: r.5,
        expires_at: r.6,
    }
}

pub async fn list_sessions(
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

pub async fn revoke_session(
    d: &SqlDirectory,
    school_id: i64,
    id: &str,
) -> StoreResult<Option<SessionRecord>> {
    let id = id.to_string();
    d.run(move |conn| {
        let target = sessions::table
            .filter(sessions::school_id.eq(school_id))
            .filter(sessions::id.eq(id.clone()));
        let tokens = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::session_id.eq(id.clone()));
        let (row, names) = with_write_tx!(conn, |c| {
            let row = target.clone().first::<SessionRow>(c).optional()?;
            if row.is_some() {
                diesel::update(target)
                    .set(sessions::revoked.eq(true))
                    .execute(c)?;
                diesel::update(tokens)
                    .set(refresh_tokens::revoked.eq(true))
                    .execute(c)?;
            }
            let names = usernames!(c, row.iter().map(|r| r.2).collect::<Vec<i64>>())?;
            Ok::<_, DieselError>((row, names))
        })?;
        Ok(row.map(|r| session_record(r, &names)))
    })
    .await
}

type AuditRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn audit_event(r: AuditRow) -> (i64, AuditEvent) {
    (
        r.0,
        AuditEvent {
            school_id: r.1,
            at: r.2,
            event: r.3,
            outcome: r.4,
            actor: r.5,
            subject_user: r.6,
            client_id: r.7,
            ip: r.8,
            user_agent: r.9,
            detail: serde_json::from_str(&r.10).unwrap_or(serde_json::Value::Null),
        },
    )
}

pub async fn query_audit(
    d: &SqlDirectory,
    school_id: i64,
    f: AuditFilter,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<(i64, AuditEvent)>> {
    d.run(move |conn| {
        let rows = with_conn!(conn, |c| {
            let mut q = audit_events::table
                .filter(audit_events::school_id.eq(school_id))
                .filter(audit_events::id.gt(after))
                .order(audit_events::id.asc())
                .limit(limit)
                .into_boxed();
            if let Some(since) = f.since {
                q = q.filter(audit_events::at.ge(since));
            }
            if let Some(until) = f.until {
                q = q.filter(audit_events::at.lt(until));
            }
            if let Some(actor) = &f.actor {
                q = q.filter(audit_events::actor.eq(actor.clone()));
            }
            if let Some(user) = &f.user {
                q = q.filter(audit_events::subject_user.eq(user.clone()));
            }
            if let Some(event) = &f.event {
                q = q.filter(audit_events::event.eq(event.clone()));
            }
            q.load::<AuditRow>(c)
        })?;
        Ok(rows.into_iter().map(audit_event).collect())
    })
    .await
}
