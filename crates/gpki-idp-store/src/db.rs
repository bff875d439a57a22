//! Connections: one enum over PostgreSQL and SQLite, an r2d2 pool, and embedded migrations.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use gpki_idp_core::store::StoreError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A connection to either backend. Queries are written once and compiled for both with
/// [`with_conn!`].
pub enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the inner connection of either backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $body,
            $crate::db::Conn::Sqlite($c) => $body,
        }
    };
}

/// Runs `$body` in a write transaction with `$c` bound to the inner connection. SQLite's is
/// `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes fails at once with
/// SQLITE_BUSY when another connection wrote in between (WAL snapshots), instead of waiting.
#[macro_export]
macro_rules! with_write_tx {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pg($c) => $c.transaction(|$c| $body),
            $crate::db::Conn::Sqlite($c) => $c.immediate_transaction(|$c| $body),
        }
    };
}

/// Which database a URL names: `postgres://…` / `postgresql://…`, or a SQLite file path
/// (`sqlite://path` or a plain path).
pub fn connect(url: &str) -> Result<Conn, diesel::ConnectionError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return PgConnection::establish(url).map(Conn::Pg);
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let mut conn = SqliteConnection::establish(path)?;
    // WAL lets readers work while one writer writes; wait instead of failing when busy.
    // synchronous = NORMAL is the setting SQLite documents for WAL: the database cannot be
    // corrupted, and only the last transactions before a power cut may be lost; it saves an
    // fsync per commit (two per refresh grant).
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
         PRAGMA foreign_keys = ON;",
    )
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    Ok(Conn::Sqlite(conn))
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut Conn) -> Result<usize, StoreError> {
    let done = match conn {
        Conn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    done.map_err(|e| StoreError::Other(format!("migration failed: {e}")))
}

/// r2d2 manager for [`Conn`].
pub struct Manager {
    pub url: String,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Conn, Self::Error> {
        connect(&self.url)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        with_conn!(conn, |c| c.batch_execute("SELECT 1"))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut Conn) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// A pool of `size` connections to `url`.
pub fn pool(url: &str, size: u32) -> Result<Pool, StoreError> {
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(std::time::Duration::from_secs(5))
        .build(Manager {
            url: url.to_string(),
        })
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}
