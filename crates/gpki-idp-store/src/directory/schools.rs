//! Schools: found by code or id, listed after a cursor, changed (created in `onboarding`).

use diesel::prelude::*;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::School;
use gpki_idp_core::store::StoreResult;

use super::audited::when_some;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::schools;
use crate::with_conn;

#[derive(Queryable)]
pub struct SchoolRow {
    id: i64,
    code: String,
    name: String,
    disabled: bool,
    _created_at: i64,
    district: bool,
}

impl From<SchoolRow> for School {
    fn from(r: SchoolRow) -> Self {
        School {
            id: r.id,
            code: r.code,
            name: r.name,
            disabled: r.disabled,
            district: r.district,
            branding: Default::default(),
        }
    }
}

pub async fn by_code(d: &SqlDirectory, code: &str) -> StoreResult<Option<School>> {
    let code = code.to_string();
    d.read(move |conn| {
        with_conn!(conn, |c| schools::table
            .filter(schools::code.eq(&code))
            .first::<SchoolRow>(c)
            .optional())
        .map(|r| r.map(School::from))
    })
    .await
}

pub async fn by_id(d: &SqlDirectory, id: i64) -> StoreResult<Option<School>> {
    d.run(move |conn| {
        let q = schools::table.filter(schools::id.eq(id));
        with_conn!(conn, |c| q.first::<SchoolRow>(c).optional()).map(|r| r.map(School::from))
    })
    .await
}

pub async fn list(d: &SqlDirectory, after: i64, limit: i64) -> StoreResult<Vec<School>> {
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

pub async fn update(
    d: &SqlDirectory,
    id: i64,
    name: Option<String>,
    disabled: Option<bool>,
    district: Option<bool>,
    audit: Audit<School>,
) -> StoreResult<Option<School>> {
    let apply = move |conn: &mut Conn| {
        let target = schools::table.filter(schools::id.eq(id));
        with_conn!(conn, |c| {
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
    };
    d.write(apply, when_some(audit)).await
}
