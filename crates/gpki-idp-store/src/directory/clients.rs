//! OIDC clients: found, registered, listed after a cursor, changed and deleted (deleting one
//! revokes its refresh tokens).

use diesel::prelude::*;
use gpki_idp_core::audit::Audit;
use gpki_idp_core::model::{Client, NewClient};
use gpki_idp_core::store::StoreResult;

use super::audited::{always, when_true};
use super::json;
use super::sql::SqlDirectory;
use crate::db::Conn;
use crate::schema::{clients, refresh_tokens};
use crate::with_conn;

/// A client's settings as columns, written alike when it is created and when it is changed
/// (`None` writes NULL: a removed secret or JWKS is removed).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
struct ClientSettings {
    name: String,
    secret_hash: Option<String>,
    public_client: bool,
    require_pkce: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    id_token_alg: String,
    jwks: Option<String>,
    allowed_scopes: String,
    default_acr_values: String,
    min_acr: Option<String>,
    refresh_reuse_grace_secs: Option<i64>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
}

impl From<NewClient> for ClientSettings {
    fn from(c: NewClient) -> Self {
        ClientSettings {
            name: c.name,
            secret_hash: c.secret_hash,
            public_client: c.public_client,
            require_pkce: c.require_pkce,
            redirect_uris: json::text(&c.redirect_uris),
            post_logout_redirect_uris: json::text(&c.post_logout_redirect_uris),
            grant_types: json::text(&c.grant_types),
            id_token_alg: c.id_token_alg,
            jwks: c.jwks,
            allowed_scopes: json::text(&c.allowed_scopes),
            default_acr_values: json::text(&c.default_acr_values),
            min_acr: c.min_acr,
            refresh_reuse_grace_secs: c.refresh_reuse_grace_secs,
            backchannel_logout_uri: c.backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        }
    }
}

#[derive(Queryable)]
struct ClientRow {
    id: i64,
    school_id: i64,
    client_id: String,
    name: String,
    secret_hash: Option<String>,
    public_client: bool,
    require_pkce: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    id_token_alg: String,
    jwks: Option<String>,
    _created_at: i64,
    allowed_scopes: String,
    default_acr_values: String,
    min_acr: Option<String>,
    refresh_reuse_grace_secs: Option<i64>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            id: r.id,
            school_id: r.school_id,
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            public_client: r.public_client,
            require_pkce: r.require_pkce,
            redirect_uris: json::list(&r.redirect_uris),
            post_logout_redirect_uris: json::list(&r.post_logout_redirect_uris),
            grant_types: json::list(&r.grant_types),
            id_token_alg: r.id_token_alg,
            jwks: r.jwks,
            allowed_scopes: json::list(&r.allowed_scopes),
            default_acr_values: json::list(&r.default_acr_values),
            min_acr: r.min_acr,
            refresh_reuse_grace_secs: r.refresh_reuse_grace_secs,
            backchannel_logout_uri: r.backchannel_logout_uri,
            backchannel_logout_session_required: r.backchannel_logout_session_required,
        }
    }
}

pub async fn find(
    d: &SqlDirectory,
    school_id: i64,
    client_id: &str,
) -> StoreResult<Option<Client>> {
    let client_id = client_id.to_string();
    d.read(move |conn| {
        let q = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::client_id.eq(client_id));
        with_conn!(conn, |c| q.first::<ClientRow>(c).optional()).map(|r| r.map(Client::from))
    })
    .await
}

pub async fn add(d: &SqlDirectory, client: NewClient, audit: Audit<Client>) -> StoreResult<Client> {
    let values = (
        clients::school_id.eq(client.school_id),
        clients::client_id.eq(client.client_id.clone()),
        clients::created_at.eq(gpki_idp_core::now()),
        ClientSettings::from(client),
    );
    let insert = move |conn: &mut Conn| {
        with_conn!(conn, |c| diesel::insert_into(clients::table)
            .values(values)
            .get_result::<ClientRow>(c))
        .map(Client::from)
    };
    d.write(insert, always(audit)).await
}

pub async fn list(
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

pub async fn update(d: &SqlDirectory, cl: Client, audit: Audit<()>) -> StoreResult<bool> {
    let apply = move |conn: &mut Conn| {
        let target = clients::table
            .filter(clients::school_id.eq(cl.school_id))
            .filter(clients::client_id.eq(cl.client_id.clone()));
        let values = ClientSettings::from(NewClient::from(cl));
        with_conn!(conn, |c| diesel::update(target).set(&values).execute(c)).map(|n| n > 0)
    };
    d.write(apply, when_true(audit)).await
}

pub async fn delete(
    d: &SqlDirectory,
    school_id: i64,
    client_id: &str,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let client_id = client_id.to_string();
    let apply = move |conn: &mut Conn| {
        let q = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::client_id.eq(client_id.clone()));
        let tokens = refresh_tokens::table
            .filter(refresh_tokens::school_id.eq(school_id))
            .filter(refresh_tokens::client_id.eq(client_id.clone()));
        with_conn!(conn, |c| {
            diesel::update(tokens)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c)?;
            diesel::delete(q).execute(c).map(|n| n > 0)
        })
    };
    d.write(apply, when_true(audit)).await
}

/// Swaps a client's secret hash for another form of the same secret, only while it is still
/// `expected` (an admin's rotation meanwhile wins); audited, in the same transaction, when
/// swapped.
pub async fn replace_secret_hash(
    d: &SqlDirectory,
    school_id: i64,
    client_id: &str,
    expected: &str,
    new: &str,
    audit: Audit<()>,
) -> StoreResult<bool> {
    let (client_id, expected, new) = (client_id.to_string(), expected.to_string(), new.to_string());
    let apply = move |conn: &mut Conn| {
        let q = clients::table
            .filter(clients::school_id.eq(school_id))
            .filter(clients::client_id.eq(client_id))
            .filter(clients::secret_hash.eq(expected));
        with_conn!(conn, |c| diesel::update(q)
            .set(clients::secret_hash.eq(new))
            .execute(c))
        .map(|n| n == 1)
    };
    d.write(apply, when_true(audit)).await
}
