//! The service's own secrets: made once by whichever replica needs one first, then read by
//! every replica.

use diesel::prelude::*;
use gpki_idp_core::store::StoreResult;

use super::sql::SqlDirectory;
use crate::schema::service_secrets;
use crate::with_write_tx;

/// The secret `name`: the stored one, or `fresh` stored now when there is none. Of replicas
/// racing to store theirs, one wins and all read the winner's.
pub async fn secret(d: &SqlDirectory, name: String, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
    d.run(move |conn| {
        with_write_tx!(conn, |c| {
            let row = (
                service_secrets::name.eq(&name),
                service_secrets::value.eq(&fresh),
                service_secrets::created_at.eq(gpki_idp_core::now()),
            );
            diesel::insert_into(service_secrets::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)?;
            service_secrets::table
                .find(&name)
                .select(service_secrets::value)
                .first::<Vec<u8>>(c)
        })
    })
    .await
}
