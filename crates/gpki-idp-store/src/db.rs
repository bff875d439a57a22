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

impl Conn {
    /// Runs `work` in one write transaction on this connection, whichever the backend:
    /// committed when it returns `Ok`, rolled back otherwise. What [`with_write_tx!`] does for
    /// a body written for both backends, for work that takes the [`Conn`] itself (a change
    /// and its audit rows, written by different modules). SQLite's is `BEGIN IMMEDIATE`, as
    /// there. The work must not open a transaction of its own.
    pub fn write_transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            Conn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
            Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        }
        let outcome = work(self);
        // As diesel's own `transaction`: a commit that fails is rolled back by the manager; a
        // rollback that fails after the work failed reports the rollback's error.
        let ended = match (&outcome, &mut *self) {
            (Ok(_), Conn::Pg(c)) => AnsiTransactionManager::commit_transaction(c),
            (Ok(_), Conn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(c),
            (Err(_), Conn::Pg(c)) => AnsiTransactionManager::rollback_transaction(c),
            (Err(_), Conn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(c),
        };
        match (outcome, ended) {
            (outcome, Ok(())) => outcome,
            (Ok(_), Err(commit)) => Err(commit.into()),
            (Err(work), Err(diesel::result::Error::BrokenTransactionManager)) => Err(work),
            (Err(_), Err(rollback)) => Err(rollback.into()),
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// How long the database may take: every wait on it is bounded, so a database that stops
/// answering (packets dropped, not refused) costs a request a few seconds and a 503, never
/// the whole outage.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Each statement, enforced by the server (`statement_timeout`) and by the caller (the
    /// wait for an answer, plus a second).
    pub statement: std::time::Duration,
    /// Opening a connection (libpq `connect_timeout`, whole seconds).
    pub connect: std::time::Duration,
    /// Waiting for a free pooled connection.
    pub acquire: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            statement: std::time::Duration::from_secs(5),
            connect: std::time::Duration::from_secs(3),
            acquire: std::time::Duration::from_secs(3),
        }
    }
}

/// The libpq parameters that bound a PostgreSQL connection's waits, added to `url` unless
/// it sets them itself: connect timeout, TCP keepalives (a silent peer is noticed within
/// about 11 s of idleness) and `tcp_user_timeout` (unacknowledged data gives up after 10 s),
/// and server-side statement and idle-in-transaction timeouts.
pub fn postgres_url_with_timeouts(url: &str, t: &Timeouts) -> String {
    let statement_ms = t.statement.as_millis();
    let params = [
        ("connect_timeout", t.connect.as_secs().max(1).to_string()),
        ("keepalives", "1".to_string()),
        ("keepalives_idle", "5".to_string()),
        ("keepalives_interval", "2".to_string()),
        ("keepalives_count", "3".to_string()),
        ("tcp_user_timeout", "10000".to_string()),
        (
            "options",
            format!(
                "-c statement_timeout={statement_ms} -c idle_in_transaction_session_timeout={}",
                statement_ms * 2
            ),
        ),
    ];
    let mut out = url.to_string();
    for (name, value) in params {
        if url.contains(&format!("{name}=")) {
            continue;
        }
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(name);
        out.push('=');
        // libpq percent-decodes URIs but takes `+` literally: spaces as %20.
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        out.push_str(&encoded.replace('+', "%20"));
    }
    out
}

/// Which database a URL names: `postgres://…` / `postgresql://…`, or a SQLite file path
/// (`sqlite://path` or a plain path).
pub fn connect(url: &str) -> Result<Conn, diesel::ConnectionError> {
    if is_postgres(url) {
        return PgConnection::establish(url).map(Conn::Pg);
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let mut conn = SqliteConnection::establish(path)?;
    // WAL lets readers work while one writer writes; wait instead of failing when busy.
    // synchronous = NORMAL is the setting SQLite documents for WAL: the database cannot be
    // corrupted, and only the last transactions before a power cut may be lost; it saves an
    // fsync per commit (two per refresh grant).
    // Checkpoints are the pool's background work (see `checkpointer`); a writer does one
    // itself only when the WAL has grown far beyond what that work leaves.
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; \
         PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 20000;",
    )
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    Ok(Conn::Sqlite(conn))
}

/// Whether `conn` is SQLite in WAL mode, where a reader never waits for a writer (some file
/// systems cannot give WAL; SQLite then stays in its rollback journal).
pub fn sqlite_in_wal_mode(conn: &mut Conn) -> bool {
    #[derive(diesel::QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    match conn {
        Conn::Sqlite(c) => diesel::sql_query("PRAGMA journal_mode")
            .get_result::<JournalMode>(c)
            .is_ok_and(|m| m.journal_mode.eq_ignore_ascii_case("wal")),
        Conn::Pg(_) => false,
    }
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut Conn) -> Result<usize, StoreError> {
    let done = match conn {
        Conn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    done.map_err(|e| StoreError::Other(format!("migration failed: {e}")))
}

/// A pooled connection and when the pool last handed it out.
pub struct Pooled {
    conn: Conn,
    handed_out: std::time::Instant,
    /// A query on it failed: ping before the next use, whatever the idle time.
    suspect: bool,
}

impl Pooled {
    /// Marks the connection for a ping at its next checkout (a query on it failed).
    pub fn suspect(&mut self) {
        self.suspect = true;
    }
}

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

/// A PostgreSQL connection handed out less than this long ago is not pinged again: under
/// load a round trip per query would be wasted. A server that went away since then shows as
/// the error of one query on each pooled connection; that connection is then suspect,
/// pinged at its next checkout and replaced.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// r2d2 manager for [`Conn`].
pub struct Manager {
    pub url: String,
    /// Keeps the SQLite checkpointer running while the pool lives.
    _checkpointer: Option<std::sync::Arc<()>>,
}

/// How often the checkpointer copies the WAL into the SQLite database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Copies SQLite's write-ahead log into the database file once a second, on a connection and
/// thread of its own, until the returned token is dropped. Left to SQLite, the commit that
/// crosses 1,000 WAL pages does it, inside a request; once a second, a page written by many
/// requests (an index's last leaf) is copied once instead of once per thousand pages.
fn checkpointer(url: &str) -> Result<std::sync::Arc<()>, StoreError> {
    let mut conn = match connect(url).map_err(|e| StoreError::Unavailable(e.to_string()))? {
        Conn::Sqlite(c) => c,
        Conn::Pg(_) => return Err(StoreError::Other("not a SQLite URL".into())),
    };
    let alive = std::sync::Arc::new(());
    let token = std::sync::Arc::downgrade(&alive);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECKPOINT_EVERY);
                if token.upgrade().is_none() {
                    break;
                }
                // PASSIVE never waits for readers or writers; what it cannot copy now it
                // copies next time. A failure counts as a database error in the metrics.
                if conn
                    .batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                    .is_err()
                {
                    crate::errors::count(&crate::errors::DATABASE);
                }
            }
        })
        .map_err(|e| StoreError::Other(e.to_string()))?;
    Ok(alive)
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        Ok(Pooled {
            conn: connect(&self.url)?,
            handed_out: std::time::Instant::now(),
            suspect: false,
        })
    }

    /// A SQLite file cannot go away; a PostgreSQL connection idle for a while is pinged.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        let ping = pooled.suspect || pooled.handed_out.elapsed() >= PING_AFTER_IDLE;
        pooled.handed_out = std::time::Instant::now();
        pooled.suspect = false;
        match &mut pooled.conn {
            Conn::Pg(c) if ping => c
                .batch_execute("SELECT 1")
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string())),
            _ => Ok(()),
        }
    }

    /// A connection that a failed query left inside a transaction it cannot end is not put
    /// back. (A closed PostgreSQL connection is not seen here; `suspect` catches it.)
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        use diesel::r2d2::R2D2Connection;
        match &mut pooled.conn {
            Conn::Pg(c) => c.is_broken(),
            Conn::Sqlite(c) => c.is_broken(),
        }
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// A pool of `size` connections to `url` with the default [`Timeouts`].
pub fn pool(url: &str, size: u32) -> Result<Pool, StoreError> {
    pool_with(url, size, &Timeouts::default())
}

/// A pool of `size` connections to `url`, every wait bounded by `timeouts`.
pub fn pool_with(url: &str, size: u32, timeouts: &Timeouts) -> Result<Pool, StoreError> {
    let url = if is_postgres(url) {
        postgres_url_with_timeouts(url, timeouts)
    } else {
        url.to_string()
    };
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(timeouts.acquire)
        // Connections are opened when needed: a database that is down at start fails the
        // first requests (503), not the pool.
        .min_idle(Some(0))
        .build(Manager {
            url: url.to_string(),
            _checkpointer: if is_postgres(&url) {
                None
            } else {
                Some(checkpointer(&url)?)
            },
        })
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_added_to_postgres_urls_unless_set() {
        let t = Timeouts::default();
        let url = postgres_url_with_timeouts("postgres://u@h/db?connect_timeout=9", &t);
        assert!(url.contains("connect_timeout=9") && !url.contains("connect_timeout=3"));
        assert!(url.contains("&keepalives=1&"), "{url}");
        assert!(url.contains("options=-c%20statement_timeout%3D5000%20-c%20idle_in_transaction_session_timeout%3D10000"), "{url}");
        let plain = postgres_url_with_timeouts("postgres://u@h/db", &t);
        assert!(
            plain.starts_with("postgres://u@h/db?connect_timeout=3&"),
            "{plain}"
        );
    }
}
