//! Certificate bindings: which certificate (by SHA-256) logs in to which account.

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::{CertBinding, NewRegistration, SessionRecord, User};
use gpki_idp_core::store::StoreResult;

use super::audited::{when_some, when_true};
use super::ending::{end_sessions, ended_events, Ending};
use super::names::{name_of, usernames};
use super::registration;
use super::sql::SqlDirectory;
use super::users::UserRow;
use crate::db::Conn;
use crate::schema::{cert_bindings, users};
use crate::with_conn;

#[derive(Queryable)]
pub struct BindingRow {
    id: i64,
    school_id: i64,
    user_id: i64,
    cert_sha256: String,
    serial_hex: String,
    issuer_dn: String,
    subject_cn: String,
    not_after: String,
    _created_at: i64,
}

impl From<BindingRow> for CertBinding {
    fn from(r: BindingRow) -> Self {
        CertBinding {
            id: r.id,
            school_id: r.school_id,
            user_id: r.user_id,
            cert_sha256: r.cert_sha256,
            serial_hex: r.serial_hex,
            issuer_dn: r.issuer_dn,
            subject_cn: r.subject_cn,
            not_after: r.not_after,
        }
    }
}

/// Stores a binding on `conn`.
fn insert(conn: &mut Conn, b: CertBinding) -> Result<CertBinding, DieselError> {
    let values = (
        cert_bindings::school_id.eq(b.school_id),
        cert_bindings::user_id.eq(b.user_id),
        cert_bindings::cert_sha256.eq(b.cert_sha256),
        cert_bindings::serial_hex.eq(b.serial_hex),
        cert_bindings::issuer_dn.eq(b.issuer_dn),
        cert_bindings::subject_cn.eq(b.subject_cn),
        cert_bindings::not_after.eq(b.not_after),
        cert_bindings::created_at.eq(gpki_idp_core::now()),
    );
    with_conn!(conn, |c| diesel::insert_into(cert_bindings::table)
        .values(values)
        .get_result::<BindingRow>(c))
    .map(CertBinding::from)
}

/// The enrollment code used up (when the registration names one), then the binding stored:
/// one transaction with the registration's audit. `None` when the code is not valid.
pub async fn register(
    d: &SqlDirectory,
    r: NewRegistration,
    audit: Audit<CertBinding>,
) -> StoreResult<Option<CertBinding>> {
    let apply = move |conn: &mut Conn| {
        let (school_id, user_id) = (r.binding.school_id, r.binding.user_id);
        if let Some(hash) = &r.enrollment_code {
            if !registration::use_code(conn, school_id, user_id, hash, r.at)? {
                return Ok(None);
            }
        }
        if r.binding.id != 0 {
            return Ok(Some(r.binding));
        }
        insert(conn, r.binding).map(Some)
    };
    d.write(apply, when_some(audit)).await
}

pub async fn of_user(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
) -> StoreResult<Vec<CertBinding>> {
    d.read(move |conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::user_id.eq(user_id))
            .order(cert_bindings::id.asc());
        with_conn!(conn, |c| q.load::<BindingRow>(c))
            .map(|rows| rows.into_iter().map(CertBinding::from).collect())
    })
    .await
}

pub async fn user_bound_to_cert(
    d: &SqlDirectory,
    school_id: i64,
    username: &str,
    cert_sha256: &str,
) -> StoreResult<Option<User>> {
    let (username, fp) = (username.to_string(), cert_sha256.to_string());
    d.read(move |conn| {
        let bound = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::cert_sha256.eq(fp))
            .select(cert_bindings::user_id);
        let q = users::table
            .filter(users::school_id.eq(school_id))
            .filter(users::username.eq(username))
            .filter(users::id.eq_any(bound));
        with_conn!(conn, |c| q.first::<UserRow>(c).optional()).map(|r| r.map(User::from))
    })
    .await
}

pub async fn by_cert(
    d: &SqlDirectory,
    school_id: i64,
    cert_sha256: &str,
) -> StoreResult<Option<CertBinding>> {
    let fp = cert_sha256.to_string();
    d.read(move |conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::cert_sha256.eq(fp));
        with_conn!(conn, |c| q.first::<BindingRow>(c).optional()).map(|r| r.map(CertBinding::from))
    })
    .await
}

pub async fn remove(
    d: &SqlDirectory,
    school_id: i64,
    user_id: i64,
    id: i64,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::user_id.eq(user_id))
            .filter(cert_bindings::id.eq(id));
        let found = with_conn!(conn, |c| q
            .select(cert_bindings::cert_sha256)
            .first::<String>(c)
            .optional())?;
        let Some(sha) = found else {
            return Ok((false, vec![]));
        };
        with_conn!(conn, |c| diesel::delete(q).execute(c))?;
        let ended = end_sessions(conn, school_id, &Ending::Cert(sha), now)?;
        Ok((true, ended))
    };
    let events = move |(removed, ended): &(bool, Vec<SessionRecord>)| {
        let cause = when_true(audit)(removed);
        let more = ended_events(&cause, ended, "certificate.remove");
        cause.into_iter().chain(more).collect()
    };
    Ok(d.write(apply, events).await?.0)
}

pub async fn counts(
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

pub async fn list(
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

pub async fn remove_by_id(
    d: &SqlDirectory,
    school_id: i64,
    id: i64,
    audit: Audit<(CertBinding, String)>,
) -> StoreResult<Option<(CertBinding, String)>> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        let q = cert_bindings::table
            .filter(cert_bindings::school_id.eq(school_id))
            .filter(cert_bindings::id.eq(id));
        let removed = with_conn!(conn, |c| match q.first::<BindingRow>(c).optional()? {
            None => Ok::<_, DieselError>(None),
            Some(found) => {
                diesel::delete(q).execute(c)?;
                let binding = CertBinding::from(found);
                let names = usernames!(c, vec![binding.user_id])?;
                let owner = name_of(&names, binding.user_id);
                Ok(Some((binding, owner)))
            }
        })?;
        let ended = match &removed {
            Some((b, _)) => {
                end_sessions(conn, school_id, &Ending::Cert(b.cert_sha256.clone()), now)?
            }
            None => vec![],
        };
        Ok((removed, ended))
    };
    let events = move |(removed, ended): &(Option<(CertBinding, String)>, Vec<SessionRecord>)| {
        let cause = when_some(audit)(removed);
        let more = ended_events(&cause, ended, "certificate.remove");
        cause.into_iter().chain(more).collect()
    };
    Ok(d.write(apply, events).await?.0)
}
