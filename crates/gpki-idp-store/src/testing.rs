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

/// A migrated directory on a fresh PostgreSQL database.
pub async fn postgres_directory() -> SqlDirectory {
    let url = fresh_postgres_url();
    let dir = SqlDirectory::new(db::pool(&url, 4).expect("pool"));
    dir.migrate().await.expect("migrations on PostgreSQL");
    dir
}

/// A migrated directory on a fresh SQLite file.
pub async fn sqlite_directory() -> SqlDirectory {
    let path = std::env::temp_dir().join(format!(
        "gpki-test-{}.sqlite",
        uuid::Uuid::new_v4().simple()
    ));
    let dir = SqlDirectory::new(db::pool(&path.to_string_lossy(), 4).expect("pool"));
    dir.migrate().await.expect("migrations on SQLite");
    dir
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
