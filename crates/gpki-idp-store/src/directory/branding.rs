//! A school's branding: one row per school, the logo's bytes read only on their own.

use diesel::prelude::*;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::Branding;
use gpki_idp_core::store::StoreResult;

use super::audited::always;
use super::sql::SqlDirectory;
use crate::db::Conn;
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

/// The row's changeable columns: colour, logo type, logo.
type Columns = (Option<String>, Option<String>, Option<Vec<u8>>);

/// Reads the school's row (empty when none), applies `change` and writes every column back,
/// in one write transaction with the change's audit: the colour and the logo are changed by
/// the same code. Returns the branding as it is now.
async fn change(
    d: &SqlDirectory,
    school_id: i64,
    change: impl FnOnce(&mut Columns) + Send + 'static,
    audit: Audit<Branding>,
) -> StoreResult<Branding> {
    let now = gpki_idp_core::now();
    let apply = move |conn: &mut Conn| {
        let row = school_branding::table
            .filter(school_branding::school_id.eq(school_id))
            .select((
                school_branding::colour,
                school_branding::logo_type,
                school_branding::logo,
            ));
        with_conn!(conn, |c| {
            let mut columns: Columns = row.first(c).optional()?.unwrap_or_default();
            change(&mut columns);
            let (colour, logo_type, logo) = columns;
            let now_set = Branding {
                colour: colour.clone(),
                logo_type: logo_type.clone(),
                updated_at: now,
            };
            let values = (
                school_branding::colour.eq(colour),
                school_branding::logo_type.eq(logo_type),
                school_branding::logo.eq(logo),
                school_branding::updated_at.eq(now),
            );
            diesel::insert_into(school_branding::table)
                .values((school_branding::school_id.eq(school_id), values.clone()))
                .on_conflict(school_branding::school_id)
                .do_update()
                .set(values)
                .execute(c)
                .map(|_| now_set)
        })
    };
    d.write(apply, always(audit)).await
}

pub async fn set_colour(
    d: &SqlDirectory,
    school_id: i64,
    colour: Option<String>,
    audit: Audit<Branding>,
) -> StoreResult<Branding> {
    change(d, school_id, |row| row.0 = colour, audit).await
}

pub async fn set_logo(
    d: &SqlDirectory,
    school_id: i64,
    logo: Option<(String, Vec<u8>)>,
    audit: Audit<Branding>,
) -> StoreResult<Branding> {
    let (kind, bytes) = logo.unzip();
    change(d, school_id, |row| (row.1, row.2) = (kind, bytes), audit).await
}
