//! A school's branding: one row per school, the logo's bytes read only on their own.

use diesel::prelude::*;
use gpki_idp_core::model::Branding;
use gpki_idp_core::store::StoreResult;

use crate::directory::SqlDirectory;
use crate::schema::school_branding;
use crate::with_conn;

type BrandingRow = (Option<String>, Option<String>, i64);

pub async fn branding(d: &SqlDirectory, school_id: i64) -> StoreResult<Branding> {
    d.read(move |conn| {
        let q = school_branding::table
            .filter(school_branding::school_id.eq(school_id))
            .select((
                school_branding::colour,
                school_branding::logo_type,
                school_branding::updated_at,
            ));
        with_conn!(conn, |c| q.first::<BrandingRow>(c).optional())
    })
    .await
    .map(|row| {
        row.map(|(colour, logo_type, updated_at)| Branding {
            colour,
            logo_type,
            updated_at,
        })
        .unwrap_or_default()
    })
}

pub async fn logo(d: &SqlDirectory, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
    d.read(move |conn| {
        let q = school_branding::table
            .filter(school_branding::school_id.eq(school_id))
            .select((school_branding::logo_type, school_branding::logo));
        with_conn!(conn, |c| q
            .first::<(Option<String>, Option<Vec<u8>>)>(c)
            .optional())
    })
    .await
    .map(|row| match row {
        Some((Some(kind), Some(bytes))) => Some((kind, bytes)),
        _ => None,
    })
}

/// One upsert: the school's row is created on its first change, then only changed.
pub async fn set_colour(
    d: &SqlDirectory,
    school_id: i64,
    colour: Option<String>,
) -> StoreResult<()> {
    d.run(move |conn| {
        let now = gpki_idp_core::now();
        let row = (
            school_branding::school_id.eq(school_id),
            school_branding::colour.eq(colour.clone()),
            school_branding::updated_at.eq(now),
        );
        let set = (
            school_branding::colour.eq(colour),
            school_branding::updated_at.eq(now),
        );
        with_conn!(conn, |c| diesel::insert_into(school_branding::table)
            .values(row)
            .on_conflict(school_branding::school_id)
            .do_update()
            .set(set)
            .execute(c))
        .map(|_| ())
    })
    .await
}

pub async fn set_logo(
    d: &SqlDirectory,
    school_id: i64,
    logo: Option<(String, Vec<u8>)>,
) -> StoreResult<()> {
    d.run(move |conn| {
        let now = gpki_idp_core::now();
        let (kind, bytes) = logo.unzip();
        let row = (
            school_branding::school_id.eq(school_id),
            school_branding::logo_type.eq(kind.clone()),
            school_branding::logo.eq(bytes.clone()),
            school_branding::updated_at.eq(now),
        );
        let set = (
            school_branding::logo_type.eq(kind),
            school_branding::logo.eq(bytes),
            school_branding::updated_at.eq(now),
        );
        with_conn!(conn, |c| diesel::insert_into(school_branding::table)
            .values(row)
            .on_conflict(school_branding::school_id)
            .do_update()
            .set(set)
            .execute(c))
        .map(|_| ())
    })
    .await
}
