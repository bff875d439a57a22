//! [`SqlDirectory`]: a pool of connections and where work on it runs (a blocking thread, or
//! the caller's for a quick SQLite read), every wait bounded; diesel errors as store errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use gpki_idp_core::audit::AuditEvent;
use gpki_idp_core::store::{StoreError, StoreResult};

use crate::db::{self, Conn, Manager, Pool, Timeouts};
use crate::errors;

/// Persistent records in a SQL database.
#[derive(Clone)]
pub struct SqlDirectory {
    pool: Pool,
    /// The pool holds SQLite connections in WAL mode: reads may run on the caller's thread.
    inline_reads: bool,
    /// The longest a caller waits for one piece of work (checkout and statements).
    wait: std::time::Duration,
}

fn store_error(e: DieselError) -> StoreError {
    if !matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    ) {
        errors::count(&errors::DATABASE);
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
    conn: &mut r2d2::PooledConnection<Manager>,
    work: impl FnOnce(&mut Conn) -> Result<T, DieselError>,
) -> StoreResult<T> {
    let result = work(conn);
    if result.is_err() {
        conn.suspect();
    }
    result.map_err(store_error)
}

impl SqlDirectory {
    pub fn new(pool: Pool) -> Self {
        let inline_reads = pool
            .get()
            .is_ok_and(|mut conn| db::sqlite_in_wal_mode(&mut conn));
        let t = Timeouts::default();
        Self {
            pool,
            inline_reads,
            wait: t.acquire + t.statement + std::time::Duration::from_secs(1),
        }
    }

    /// Bounds each caller's wait by these timeouts (a checkout, then a statement, and a
    /// second more): the server's statement_timeout cannot end a wait on a network that
    /// stopped answering.
    pub fn with_timeouts(mut self, t: &Timeouts) -> Self {
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
                errors::count(&errors::DATABASE);
                StoreError::Unavailable(e.to_string())
            })?;
            finish(&mut conn, work)
        });
        // Cut to what is left of the request's deadline (the login and token paths have one).
        let wait = gpki_idp_core::deadline::remaining(self.wait);
        match tokio::time::timeout(wait, task).await {
            Ok(joined) => joined.map_err(|e| StoreError::Other(e.to_string()))?,
            // The blocking thread stays with its connection until the network gives up on it
            // (keepalives, tcp_user_timeout); the request answers now. A write that was in
            // flight may still commit: callers make their writes safe to retry.
            Err(_) => {
                errors::count(&errors::DATABASE);
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            }
        }
    }

    /// Runs `change` and appends the audit events its outcome makes (`events`, asked once the
    /// change succeeded), in one write transaction: both are stored or neither. The events'
    /// log copies are written once the transaction committed, so the log never shows an
    /// event the audit log lacks.
    pub(crate) async fn write<T, F, E>(&self, change: F, events: E) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, DieselError> + Send + 'static,
        E: FnOnce(&T) -> Vec<AuditEvent> + Send + 'static,
    {
        let (outcome, events) = self
            .run(move |conn| {
                conn.write_transaction(|conn| {
                    let outcome = change(conn)?;
                    let events = events(&outcome);
                    super::audited::insert(conn, &events)?;
                    Ok((outcome, events))
                })
            })
            .await?;
        for event in &events {
            event.log();
        }
        Ok(outcome)
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
            db::migrate(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Other(e.to_string()))?
    }
}

/// One trivial query: whether the database answers.
pub async fn ping(d: &SqlDirectory) -> StoreResult<()> {
    use crate::with_conn;
    use diesel::RunQueryDsl;
    d.run(|conn| with_conn!(conn, |c| diesel::sql_query("SELECT 1").execute(c)).map(|_| ()))
        .await
}
