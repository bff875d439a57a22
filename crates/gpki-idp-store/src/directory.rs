//! [`Directory`] on diesel: the same queries for PostgreSQL and SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use gpki_idp_core::audit::{AuditEvent, AuditFilter};
use gpki_idp_core::model::{
    Branding, CertBinding, Client, EnrollmentCodeInfo, KeyRecord, NewClient, NewUser,
    RefreshRecord, School, SessionRecord, User, UserChange,
};
use gpki_idp_core::policy::RolePolicy;
use gpki_idp_core::store::{Directory, StoreError, StoreResult};

use crate::db::{Conn, Pool};
use crate::fixed::Fixed;
use crate::schema::{
    audit_events, cert_bindings, clients, enrollment_codes, login_policies, refresh_tokens,
    registration_rules, schools, signing_keys, users,
};
use crate::{admin, with_conn, with_write_tx};

/// Persistent records in a SQL database.
#[derive(Clone)]
pub struct SqlDirectory {
    pool: Pool,
    /// The pool holds SQLite connections in WAL mode: reads may run on the caller's thread.
    inline_reads: bool,
    /// The longest a caller waits for one piece of work (checkout and statements).
    wait: std::time::Duration,
}

pub(crate) fn store_error(e: DieselError) -> StoreError {
    if !matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    ) {
        crate::errors::count(&crate::errors::DATABASE);
    }
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(info.message().to_string())
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            info,
        ) => StoreError::Unavailable(info.message().to_string()),
        DieselError::DatabaseError(_, info) if lost_connection(info.message()) => {
            StoreError::Unavailable(info.message().to_string())
        }
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("the connection's transaction state is broken".into())
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// Whether a database error says the server or the network went away (or a statement ran
/// out of time), rather than that the query was wrong: the caller gets 503, not 500.
fn lost_connection(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "server closed the connection",
        "connection",
        "timeout",
        "timed out",
        "canceling statement",
        "terminating",
        "could not receive",
        "could not send",
        "no connection",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// Runs `work` on a checked-out connection; a failure makes the connection suspect.
fn finish<T>(
    conn: &mut r2d2::PooledConnection<crate::db::Manager>,
    work: impl FnOnce(&mut Conn) -> Result<T, DieselError>,
) -> StoreResult<T> {
    let result = work(conn);
    if result.is_err() {
        conn.suspect();
    }
    result.map_err(store_error)
}

/// A client's settings as columns, written alike when it is created and when it is changed
/// (`None` writes NULL: a removed secret or JWKS is removed).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ClientSettings {
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
}

impl From<NewClient> for ClientSettings {
    fn from(c: NewClient) -> Self {
        ClientSettings {
            name: c.name,
            secret_hash: c.secret_hash,
            public_client: c.public_client,
            require_pkce: c.require_pkce,
            redirect_uris: to_json(&c.redirect_uris),
            post_logout_redirect_uris: to_json(&c.post_logout_redirect_uris),
            grant_types: to_json(&c.grant_types),
            id_token_alg: c.id_token_alg,
            jwks: c.jwks,
            allowed_scopes: to_json(&c.allowed_scopes),
            default_acr_values: to_json(&c.default_acr_values),
            min_acr: c.min_acr,
        }
    }
}

type RefreshValues = (
    diesel::dsl::Eq<refresh_tokens::token_hash, String>,
    diesel::dsl::Eq<refresh_tokens::family_id, String>,
    diesel::dsl::Eq<refresh_tokens::school_id, i64>,
    diesel::dsl::Eq<refresh_tokens::client_id, String>,
    diesel::dsl::Eq<refresh_tokens::user_id, i64>,
    diesel::dsl::Eq<refresh_tokens::scope, String>,
    diesel::dsl::Eq<refresh_tokens::auth_time, i64>,
    diesel::dsl::Eq<refresh_tokens::acr, String>,
    diesel::dsl::Eq<refresh_tokens::amr, String>,
    diesel::dsl::Eq<refresh_tokens::created_at, i64>,
    diesel::dsl::Eq<refresh_tokens::expires_at, i64>,
    diesel::dsl::Eq<refresh_tokens::used, bool>,
    diesel::dsl::Eq<refresh_tokens::revoked, bool>,
    diesel::dsl::Eq<refresh_tokens::session_id, Option<String>>,
);

fn refresh_values(r: RefreshRecord) -> RefreshValues {
    (
        refresh_tokens::token_hash.eq(r.token_hash),
        refresh_tokens::family_id.eq(r.family_id),
        refresh_tokens::school_id.eq(r.school_id),
        refresh_tokens::client_id.eq(r.client_id),
        refresh_tokens::user_id.eq(r.user_id),
        refresh_tokens::scope.eq(r.scope),
        refresh_tokens::auth_time.eq(r.auth_time),
        refresh_tokens::acr.eq(r.acr),
        refresh_tokens::amr.eq(to_json(&r.amr)),
        refresh_tokens::created_at.eq(r.created_at),
        refresh_tokens::expires_at.eq(r.expires_at),
        refresh_tokens::used.eq(r.used),
        refresh_tokens::revoked.eq(r.revoked),
        refresh_tokens::session_id.eq(r.session_id),
    )
}

pub(crate) fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub(crate) fn to_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

#[derive(Queryable)]
pub(crate) struct SchoolRow {
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
            roles: list(&r.roles),
            disabled: r.disabled,
        }
    }
}

#[derive(Queryable)]
pub(crate) struct ClientRow {
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
            redirect_uris: list(&r.redirect_uris),
            post_logout_redirect_uris: list(&r.post_logout_redirect_uris),
            grant_types: list(&r.grant_types),
            id_token_alg: r.id_token_alg,
            jwks: r.jwks,
            allowed_scopes: list(&r.allowed_scopes),
            default_acr_values: list(&r.default_acr_values),
            min_acr: r.min_acr,
        }
    }
}

#[derive(Queryable)]
struct KeyRow {
    _id: i64,
    _school_id: i64,
    kid: String,
    alg: String,
    private_pkcs8: Vec<u8>,
    created_at: i64,
    retired_at: Option<i64>,
}

#[derive(Queryable)]
struct RefreshRow {
    token_hash: String,
    family_id: String,
    school_id: i64,
    client_id: String,
    user_id: i64,
    scope: String,
    auth_time: i64,
    acr: String,
    amr: String,
    created_at: i64,
    expires_at: i64,
    used: bool,
    revoked: bool,
    session_id: Option<String>,
}

impl From<RefreshRow> for RefreshRecord {
    fn from(r: RefreshRow) -> Self {
        RefreshRecord {
            token_hash: r.token_hash,
            family_id: r.family_id,
            school_id: r.school_id,
            client_id: r.client_id,
            user_id: r.user_id,
            scope: r.scope,
            auth_time: r.auth_time,
            acr: r.acr,
            amr: list(&r.amr),
            created_at: r.created_at,
            expires_at: r.expires_at,
            used: r.used,
            revoked: r.revoked,
            session_id: r.session_id,
        }
    }
}

#[derive(Queryable)]
pub(crate) struct BindingRow {
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

impl SqlDirectory {
    pub fn new(pool: Pool) -> Self {
        let inline_reads = pool
            .get()
            .is_ok_and(|mut conn| crate::db::sqlite_in_wal_mode(&mut conn));
        let t = crate::db::Timeouts::default();
        Self {
            pool,
            inline_reads,
            wait: t.acquire + t.statement + std::time::Duration::from_secs(1),
        }
    }

    /// Bounds each caller's wait by these timeouts (a checkout, then a statement, and a
    /// second more): the server's statement_timeout cannot end a wait on a network that
    /// stopped answering.
    pub fn with_timeouts(mut self, t: &crate::db::Timeouts) -> Self {
        self.wait = t.acquire + t.statement + std::time::Duration::from_secs(1);
        self
    }

    /// Runs blocking database work off the async runtime.
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, DieselError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| {
                crate::errors::count(&crate::errors::DATABASE);
                StoreError::Unavailable(e.to_string())
            })?;
            finish(&mut conn, work)
        });
        match tokio::time::timeout(self.wait, task).await {
            Ok(joined) => joined.map_err(|e| StoreError::Other(e.to_string()))?,
            // The blocking thread stays with its connection until the network gives up on it
            // (keepalives, tcp_user_timeout); the request answers now. A write that was in
            // flight may still commit: callers make their writes safe to retry.
            Err(_) => {
                crate::errors::count(&crate::errors::DATABASE);
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            }
        }
    }

    /// Runs a read. On SQLite in WAL mode it runs on the caller's thread when a connection
    /// is free at once: an indexed read of a local file takes a few microseconds, less than
    /// handing it to a blocking thread and back, and in WAL mode a reader does not wait for
    /// writers.
    /// PostgreSQL reads (a network round trip) go to a blocking thread like all other work.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, DieselError> + Send + 'static,
    {
        if self.inline_reads {
            if let Some(mut conn) = self.pool.try_get() {
                return finish(&mut conn, work);
            }
        }
        self.run(work).await
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<usize> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            crate::db::migrate(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Other(e.to_string()))?
    }
}

#[async_trait]
impl Directory for SqlDirectory {
    async fn ping(&self) -> StoreResult<()> {
        self.run(|conn| with_conn!(conn, |c| diesel::sql_query("SELECT 1").execute(c)).map(|_| ()))
            .await
    }

    async fn school_by_code(&self, code: &str) -> StoreResult<Option<School>> {
        let code = code.to_string();
        self.read(move |conn| {
            with_conn!(conn, |c| schools::table
                .filter(schools::code.eq(&code))
                .first::<SchoolRow>(c)
                .optional())
            .map(|r| r.map(School::from))
        })
        .await
    }

    async fn create_school(&self, code: &str, name: &str) -> StoreResult<School> {
        let (code, name) = (code.to_string(), name.to_string());
        self.run(move |conn| {
            let values = (
                schools::code.eq(&code),
                schools::name.eq(&name),
                schools::disabled.eq(false),
                schools::created_at.eq(gpki_idp_core::now()),
            );
            with_conn!(conn, |c| diesel::insert_into(schools::table)
                .values(values)
                .get_result::<SchoolRow>(c))
            .map(School::from)
        })
        .await
    }

    async fn create_schools(
        &self,
        schools: Vec<gpki_idp_core::admin::onboarding::NewSchool>,
    ) -> StoreResult<Vec<School>> {
        crate::onboarding::create_schools(self, schools).await
    }

    async fn user_by_username(&self, school_id: i64, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_string();
        self.read(move |conn| {
            let q = users::table
                .filter(users::school_id.eq(school_id))
                .filter(users::username.eq(username));
            with_conn!(conn, |c| q.first::<UserRow>(c).optional()).map(|r| r.map(User::from))
        })
        .await
    }

    async fn user_by_id(&self, school_id: i64, id: i64) -> StoreResult<Option<User>> {
        self.read(move |conn| {
            let q = users::table
                .filter(users::school_id.eq(school_id))
                .filter(users::id.eq(id));
            with_conn!(conn, |c| q.first::<UserRow>(c).optional()).map(|r| r.map(User::from))
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        self.run(move |conn| {
            let values = (
                users::school_id.eq(user.school_id),
                users::username.eq(user.username),
                users::subject.eq(uuid::Uuid::new_v4().to_string()),
                users::display_name.eq(user.display_name),
                users::password_hash.eq(user.password_hash),
                users::roles.eq(to_json(&user.roles)),
                users::disabled.eq(false),
                users::created_at.eq(gpki_idp_core::now()),
            );
            with_conn!(conn, |c| diesel::insert_into(users::table)
                .values(values)
                .get_result::<UserRow>(c))
            .map(User::from)
        })
        .await
    }

    async fn client(&self, school_id: i64, client_id: &str) -> StoreResult<Option<Client>> {
        let client_id = client_id.to_string();
        self.read(move |conn| {
            let q = clients::table
                .filter(clients::school_id.eq(school_id))
                .filter(clients::client_id.eq(client_id));
            with_conn!(conn, |c| q.first::<ClientRow>(c).optional()).map(|r| r.map(Client::from))
        })
        .await
    }

    async fn create_client(&self, client: NewClient) -> StoreResult<Client> {
        self.run(move |conn| {
            let values = (
                clients::school_id.eq(client.school_id),
                clients::client_id.eq(client.client_id.clone()),
                clients::created_at.eq(gpki_idp_core::now()),
                ClientSettings::from(client),
            );
            with_conn!(conn, |c| diesel::insert_into(clients::table)
                .values(values)
                .get_result::<ClientRow>(c))
            .map(Client::from)
        })
        .await
    }

    async fn signing_keys(&self, school_id: i64) -> StoreResult<Vec<KeyRecord>> {
        self.read(move |conn| {
            let q = signing_keys::table
                .filter(signing_keys::school_id.eq(school_id))
                .order(signing_keys::id.desc());
            let rows = with_conn!(conn, |c| q.load::<KeyRow>(c))?;
            Ok(rows
                .into_iter()
                .map(|r| KeyRecord {
                    kid: r.kid,
                    alg: r.alg,
                    private_pkcs8: r.private_pkcs8,
                    created_at: r.created_at,
                    retired_at: r.retired_at,
                })
                .collect())
        })
        .await
    }

    async fn add_signing_key(&self, school_id: i64, key: KeyRecord) -> StoreResult<()> {
        self.run(move |conn| {
            let values = (
                signing_keys::school_id.eq(school_id),
                signing_keys::kid.eq(key.kid),
                signing_keys::alg.eq(key.alg),
                signing_keys::private_pkcs8.eq(key.private_pkcs8),
                signing_keys::created_at.eq(key.created_at),
                signing_keys::retired_at.eq(key.retired_at),
            );
            with_conn!(conn, |c| diesel::insert_into(signing_keys::table)
                .values(values)
                .execute(c))
            .map(|_| ())
        })
        .await
    }

    async fn retire_keys_except(
        &self,
        school_id: i64,
        alg: &str,
        keep_kid: &str,
        at: i64,
    ) -> StoreResult<()> {
        let (alg, keep) = (alg.to_string(), keep_kid.to_string());
        self.run(move |conn| {
            let target = signing_keys::table
                .filter(signing_keys::school_id.eq(school_id))
                .filter(signing_keys::alg.eq(alg))
                .filter(signing_keys::kid.ne(keep))
                .filter(signing_keys::retired_at.is_null());
            with_conn!(conn, |c| diesel::update(target)
                .set(signing_keys::retired_at.eq(Some(at)))
                .execute(c))
            .map(|_| ())
        })
        .await
    }

    async fn insert_refresh(&self, r: RefreshRecord) -> StoreResult<()> {
        self.run(move |conn| {
            let values = refresh_values(r);
            with_conn!(conn, |c| diesel::insert_into(refresh_tokens::table)
                .values(values)
                .execute(c))
            .map(|_| ())
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        school_id: i64,
        old_hash: &str,
        new: RefreshRecord,
    ) -> StoreResult<bool> {
        let old = old_hash.to_string();
        self.run(move |conn| {
            let values = refresh_values(new);
            let target = refresh_tokens::table
                .filter(refresh_tokens::school_id.eq(school_id))
                .filter(refresh_tokens::token_hash.eq(old))
                .filter(refresh_tokens::used.eq(false));
            with_write_tx!(conn, |c| {
                // Conditional: of two concurrent rotations of one token only one changes it.
                let changed =
                    Fixed(diesel::update(target).set(refresh_tokens::used.eq(true))).execute(c)?;
                if changed == 1 {
                    diesel::insert_into(refresh_tokens::table)
                        .values(values)
                        .execute(c)?;
                }
                Ok::<_, DieselError>(changed == 1)
            })
        })
        .await
    }

    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>> {
        let hash = token_hash.to_string();
        self.read(move |conn| {
            let q = refresh_tokens::table
                .filter(refresh_tokens::school_id.eq(school_id))
                .filter(refresh_tokens::token_hash.eq(hash));
            with_conn!(conn, |c| q.first::<RefreshRow>(c).optional())
                .map(|r| r.map(RefreshRecord::from))
        })
        .await
    }

    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()> {
        let family = family_id.to_string();
        self.run(move |conn| {
            let q = refresh_tokens::table
                .filter(refresh_tokens::school_id.eq(school_id))
                .filter(refresh_tokens::family_id.eq(family));
            with_conn!(conn, |c| diesel::update(q)
                .set(refresh_tokens::revoked.eq(true))
                .execute(c))
            .map(|_| ())
        })
        .await
    }

    async fn add_binding(&self, b: CertBinding) -> StoreResult<CertBinding> {
        self.run(move |conn| {
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
        })
        .await
    }

    async fn bindings_of(&self, school_id: i64, user_id: i64) -> StoreResult<Vec<CertBinding>> {
        self.read(move |conn| {
            let q = cert_bindings::table
                .filter(cert_bindings::school_id.eq(school_id))
                .filter(cert_bindings::user_id.eq(user_id))
                .order(cert_bindings::id.asc());
            with_conn!(conn, |c| q.load::<BindingRow>(c))
                .map(|rows| rows.into_iter().map(CertBinding::from).collect())
        })
        .await
    }

    async fn user_bound_to_cert(
        &self,
        school_id: i64,
        username: &str,
        cert_sha256: &str,
    ) -> StoreResult<Option<User>> {
        let (username, fp) = (username.to_string(), cert_sha256.to_string());
        self.read(move |conn| {
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

    async fn binding_by_cert(
        &self,
        school_id: i64,
        cert_sha256: &str,
    ) -> StoreResult<Option<CertBinding>> {
        let fp = cert_sha256.to_string();
        self.read(move |conn| {
            let q = cert_bindings::table
                .filter(cert_bindings::school_id.eq(school_id))
                .filter(cert_bindings::cert_sha256.eq(fp));
            with_conn!(conn, |c| q.first::<BindingRow>(c).optional())
                .map(|r| r.map(CertBinding::from))
        })
        .await
    }

    async fn remove_binding(&self, school_id: i64, user_id: i64, id: i64) -> StoreResult<bool> {
        self.run(move |conn| {
            let q = cert_bindings::table
                .filter(cert_bindings::school_id.eq(school_id))
                .filter(cert_bindings::user_id.eq(user_id))
                .filter(cert_bindings::id.eq(id));
            with_conn!(conn, |c| diesel::delete(q).execute(c)).map(|n| n > 0)
        })
        .await
    }

    async fn login_policy(
        &self,
        school_id: i64,
    ) -> StoreResult<Vec<gpki_idp_core::policy::RolePolicy>> {
        self.read(move |conn| {
            let q = login_policies::table
                .filter(login_policies::school_id.eq(school_id))
                .select((login_policies::role, login_policies::methods))
                .order(login_policies::role.asc());
            let rows = with_conn!(conn, |c| q.load::<(String, String)>(c))?;
            Ok(rows
                .into_iter()
                .map(|(role, methods)| gpki_idp_core::policy::RolePolicy {
                    role,
                    methods: serde_json::from_str(&methods).unwrap_or_default(),
                })
                .collect())
        })
        .await
    }

    async fn set_role_policy(
        &self,
        school_id: i64,
        policy: gpki_idp_core::policy::RolePolicy,
    ) -> StoreResult<()> {
        let methods = serde_json::to_string(&policy.methods).unwrap_or_else(|_| "[]".into());
        self.run(move |conn| {
            with_write_tx!(conn, |c| {
                let target = login_policies::table
                    .filter(login_policies::school_id.eq(school_id))
                    .filter(login_policies::role.eq(&policy.role));
                diesel::delete(target).execute(c)?;
                let values = (
                    login_policies::school_id.eq(school_id),
                    login_policies::role.eq(&policy.role),
                    login_policies::methods.eq(&methods),
                    login_policies::updated_at.eq(gpki_idp_core::now()),
                );
                diesel::insert_into(login_policies::table)
                    .values(values)
                    .execute(c)
                    .map(|_| ())
            })
        })
        .await
    }

    async fn registration_rules(
        &self,
        school_id: i64,
    ) -> StoreResult<gpki_idp_core::policy::RegistrationRules> {
        self.read(move |conn| {
            let q = registration_rules::table
                .filter(registration_rules::school_id.eq(school_id))
                .select((
                    registration_rules::campus_cidrs,
                    registration_rules::require_enrollment_code,
                ));
            let row = with_conn!(conn, |c| q.first::<(String, bool)>(c).optional())?;
            Ok(row
                .map(
                    |(cidrs, require)| gpki_idp_core::policy::RegistrationRules {
                        campus_cidrs: list(&cidrs),
                        require_enrollment_code: require,
                    },
                )
                .unwrap_or_default())
        })
        .await
    }

    async fn set_registration_rules(
        &self,
        school_id: i64,
        rules: gpki_idp_core::policy::RegistrationRules,
    ) -> StoreResult<()> {
        let cidrs = to_json(&rules.campus_cidrs);
        self.run(move |conn| {
            with_write_tx!(conn, |c| {
                diesel::delete(
                    registration_rules::table.filter(registration_rules::school_id.eq(school_id)),
                )
                .execute(c)?;
                let values = (
                    registration_rules::school_id.eq(school_id),
                    registration_rules::campus_cidrs.eq(&cidrs),
                    registration_rules::require_enrollment_code.eq(rules.require_enrollment_code),
                    registration_rules::updated_at.eq(gpki_idp_core::now()),
                );
                diesel::insert_into(registration_rules::table)
                    .values(values)
                    .execute(c)
                    .map(|_| ())
            })
        })
        .await
    }

    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> StoreResult<i64> {
        let hash = code_hash.to_string();
        self.run(move |conn| {
            let values = (
                enrollment_codes::code_hash.eq(hash),
                enrollment_codes::school_id.eq(school_id),
                enrollment_codes::user_id.eq(user_id),
                enrollment_codes::expires_at.eq(expires_at),
                enrollment_codes::used.eq(false),
                enrollment_codes::created_at.eq(gpki_idp_core::now()),
            );
            with_conn!(conn, |c| diesel::insert_into(enrollment_codes::table)
                .values(values)
                .returning(enrollment_codes::id)
                .get_result::<i64>(c))
        })
        .await
    }

    async fn use_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let hash = code_hash.to_string();
        self.run(move |conn| {
            // One conditional update: valid, unused, this user's, not expired; two uses cannot both win.
            let target = enrollment_codes::table
                .filter(enrollment_codes::code_hash.eq(hash))
                .filter(enrollment_codes::school_id.eq(school_id))
                .filter(enrollment_codes::user_id.eq(user_id))
                .filter(enrollment_codes::used.eq(false))
                .filter(enrollment_codes::expires_at.ge(now));
            with_conn!(conn, |c| diesel::update(target)
                .set(enrollment_codes::used.eq(true))
                .execute(c))
            .map(|n| n == 1)
        })
        .await
    }

    async fn append_audit(&self, e: gpki_idp_core::audit::AuditEvent) -> StoreResult<()> {
        self.run(move |conn| {
            let values = (
                audit_events::school_id.eq(e.school_id),
                audit_events::at.eq(e.at),
                audit_events::event.eq(e.event),
                audit_events::outcome.eq(e.outcome),
                audit_events::actor.eq(e.actor),
                audit_events::subject_user.eq(e.subject_user),
                audit_events::client_id.eq(e.client_id),
                audit_events::ip.eq(e.ip),
                audit_events::user_agent.eq(e.user_agent),
                audit_events::detail.eq(e.detail.to_string()),
            );
            with_conn!(conn, |c| diesel::insert_into(audit_events::table)
                .values(values)
                .execute(c))
            .map(|_| ())
        })
        .await
    }

    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<gpki_idp_core::audit::AuditEvent>> {
        let filter = AuditFilter {
            since: Some(since),
            ..AuditFilter::default()
        };
        let found = admin::query_audit(self, school_id, filter, 0, limit).await?;
        Ok(found.into_iter().map(|(_, e)| e).collect())
    }

    async fn school_by_id(&self, id: i64) -> StoreResult<Option<School>> {
        admin::school_by_id(self, id).await
    }

    async fn list_schools(&self, after_id: i64, limit: i64) -> StoreResult<Vec<School>> {
        admin::list_schools(self, after_id, limit).await
    }

    async fn branding(&self, school_id: i64) -> StoreResult<Branding> {
        crate::branding::branding(self, school_id).await
    }

    async fn logo(&self, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
        crate::branding::logo(self, school_id).await
    }

    async fn set_brand_colour(&self, school_id: i64, colour: Option<String>) -> StoreResult<()> {
        crate::branding::set_colour(self, school_id, colour).await
    }

    async fn set_logo(&self, school_id: i64, logo: Option<(String, Vec<u8>)>) -> StoreResult<()> {
        crate::branding::set_logo(self, school_id, logo).await
    }

    async fn update_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
    ) -> StoreResult<Option<School>> {
        admin::update_school(self, id, name, disabled, district).await
    }

    async fn list_users(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
        q: Option<String>,
    ) -> StoreResult<Vec<User>> {
        admin::list_users(self, school_id, after_id, limit, q).await
    }

    async fn update_user(
        &self,
        school_id: i64,
        id: i64,
        change: UserChange,
    ) -> StoreResult<Option<User>> {
        admin::update_user(self, school_id, id, change).await
    }

    async fn users_by_usernames(
        &self,
        school_id: i64,
        usernames: Vec<String>,
    ) -> StoreResult<Vec<User>> {
        admin::users_by_usernames(self, school_id, usernames).await
    }

    async fn import_users(
        &self,
        creates: Vec<NewUser>,
        updates: Vec<(i64, UserChange)>,
    ) -> StoreResult<()> {
        admin::import_users(self, creates, updates).await
    }

    async fn binding_counts(
        &self,
        school_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<(i64, i64)>> {
        admin::binding_counts(self, school_id, user_ids).await
    }

    async fn user_roles(&self, school_id: i64) -> StoreResult<Vec<Vec<String>>> {
        admin::user_roles(self, school_id).await
    }

    async fn custom_roles(&self, school_id: i64) -> StoreResult<Vec<String>> {
        admin::custom_roles(self, school_id).await
    }

    async fn add_role(&self, school_id: i64, role: &str) -> StoreResult<bool> {
        admin::add_role(self, school_id, role).await
    }

    async fn remove_role(&self, school_id: i64, role: &str) -> StoreResult<bool> {
        admin::remove_role(self, school_id, role).await
    }

    async fn list_bindings(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CertBinding>> {
        admin::list_bindings(self, school_id, after_id, limit).await
    }

    async fn remove_binding_by_id(
        &self,
        school_id: i64,
        id: i64,
    ) -> StoreResult<Option<CertBinding>> {
        admin::remove_binding_by_id(self, school_id, id).await
    }

    async fn list_enrollment_codes(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EnrollmentCodeInfo>> {
        admin::list_enrollment_codes(self, school_id, after_id, limit).await
    }

    async fn revoke_enrollment_code(&self, school_id: i64, id: i64) -> StoreResult<bool> {
        admin::revoke_enrollment_code(self, school_id, id).await
    }

    async fn list_clients(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Client>> {
        admin::list_clients(self, school_id, after_id, limit).await
    }

    async fn update_client(&self, client: Client) -> StoreResult<bool> {
        admin::update_client(self, client).await
    }

    async fn delete_client(&self, school_id: i64, client_id: &str) -> StoreResult<bool> {
        admin::delete_client(self, school_id, client_id).await
    }

    async fn replace_policy(&self, school_id: i64, policy: Vec<RolePolicy>) -> StoreResult<()> {
        admin::replace_policy(self, school_id, policy).await
    }

    async fn add_session(&self, session: SessionRecord) -> StoreResult<()> {
        admin::add_session(self, session).await
    }

    async fn list_sessions(
        &self,
        school_id: i64,
        user_id: Option<i64>,
        after: String,
        limit: i64,
        now: i64,
    ) -> StoreResult<Vec<SessionRecord>> {
        admin::list_sessions(self, school_id, user_id, after, limit, now).await
    }

    async fn revoke_session(&self, school_id: i64, id: &str) -> StoreResult<Option<SessionRecord>> {
        admin::revoke_session(self, school_id, id).await
    }

    async fn query_audit(
        &self,
        school_id: i64,
        filter: AuditFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        admin::query_audit(self, school_id, filter, after_id, limit).await
    }
}
