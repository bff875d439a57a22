//! Fresh, isolated stores for tests: a new PostgreSQL database or SQLite file per call, and a
//! random Redis key prefix. A server that is not reachable fails the test loudly.

use crate::{db, InProcess, RedisStore, SqlDirectory};

/// `GPKI_TEST_POSTGRES_URL`, default the local `test` database.
pub fn postgres_admin_url() -> String {
    std::env::var("GPKI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `GPKI_TEST_REDIS_URL`, default the local Redis.
pub fn redis_url() -> String {
    std::env::var("GPKI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// Creates a new empty PostgreSQL database and returns its URL.
pub fn fresh_postgres_url() -> String {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let admin = postgres_admin_url();
    let mut conn = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| {
        panic!("PostgreSQL is required for this test and is not reachable at {admin}: {e}")
    });
    let name = format!("gpki_test_{}", uuid::Uuid::new_v4().simple());
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("GPKI_TEST_POSTGRES_URL must end with a database name"),
    }
}

/// The path of a new SQLite file (created when first opened).
pub fn fresh_sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!(
        "gpki-test-{}.sqlite",
        uuid::Uuid::new_v4().simple()
    ));
    path.to_string_lossy().into_owned()
}

/// A migrated directory on the database at `url` (PostgreSQL or SQLite).
pub async fn directory_at(url: &str) -> SqlDirectory {
    let dir = SqlDirectory::new(db::pool(url, 4).expect("pool"));
    dir.migrate().await.expect("migrations");
    dir
}

/// A migrated directory on a fresh PostgreSQL database.
pub async fn postgres_directory() -> SqlDirectory {
    directory_at(&fresh_postgres_url()).await
}

/// A migrated directory on a fresh SQLite file.
pub async fn sqlite_directory() -> SqlDirectory {
    directory_at(&fresh_sqlite_url()).await
}

/// Makes the database at `url` refuse every new audit row from now on (a trigger that
/// raises, as a row breaking a constraint would be refused): a change whose audit cannot be
/// written must not be kept.
pub fn refuse_audit_rows(url: &str) {
    use diesel::connection::SimpleConnection;
    let sql = if url.starts_with("postgres") {
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'audit rows are refused'; END $$; \
         CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
         FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
    } else {
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
         BEGIN SELECT RAISE(ABORT, 'audit rows are refused'); END;"
    };
    let mut conn = db::connect(url).expect("test database");
    crate::with_conn!(&mut conn, |c| c.batch_execute(sql)).expect("audit refusal trigger");
}

/// Redis under a random prefix.
pub async fn redis_store() -> RedisStore {
    let url = redis_url();
    let prefix = format!("gpki-test:{}:", uuid::Uuid::new_v4().simple());
    RedisStore::connect(&url, &prefix)
        .await
        .unwrap_or_else(|e| {
            panic!("Redis is required for this test and is not reachable at {url}: {e}")
        })
}

pub fn in_process() -> InProcess {
    InProcess::new()
}

/// Runs `sql` on the database at `url`, beside the service (a test's way to age a record).
pub fn run_sql(url: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = db::connect(url).expect("test database");
    crate::with_conn!(&mut conn, |c| c.batch_execute(sql)).expect("test SQL");
}

/// How many rows of `table` meet `condition` in the database at `url` (a test's look beside
/// the service).
pub fn count_rows(url: &str, table: &str, condition: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}");
    let mut conn = db::connect(url).expect("test database");
    crate::with_conn!(&mut conn, |c| diesel::sql_query(&sql)
        .get_result::<Count>(c))
    .expect("test SQL")
    .n
}
