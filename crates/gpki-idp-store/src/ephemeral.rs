//! [`Ephemeral`] state: in-process (the embedded default, one process) and Redis (several
//! replicas share it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gpki_idp_core::store::{Ephemeral, StoreError, StoreResult};
use redis::AsyncCommands;

/// Short-lived state in this process's memory; expired entries are swept as it grows.
#[derive(Default)]
pub struct InProcess {
    entries: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
}

impl InProcess {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (Vec<u8>, Instant)>) -> T,
    ) -> StoreResult<T> {
        let mut map = self
            .entries
            .lock()
            .map_err(|_| StoreError::Other("state lock poisoned".into()))?;
        if map.len() > 10_000 && map.len().is_power_of_two() {
            let now = Instant::now();
            map.retain(|_, (_, exp)| *exp > now);
        }
        Ok(f(&mut map))
    }
}

fn live(entry: Option<&(Vec<u8>, Instant)>) -> Option<Vec<u8>> {
    entry
        .filter(|(_, exp)| *exp > Instant::now())
        .map(|(v, _)| v.clone())
}

#[async_trait]
impl Ephemeral for InProcess {
    async fn ping(&self) -> StoreResult<()> {
        self.with(|_| ())
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        self.with(|m| {
            m.insert(key.to_string(), (value.to_vec(), Instant::now() + ttl));
        })
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.with(|m| live(m.get(key)))
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.with(|m| live(m.remove(key).as_ref()))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.with(|m| {
            m.remove(key);
        })
    }

    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64> {
        // Counters are stored as decimal text, as Redis keeps them, so `get` reads both alike.
        self.with(|m| {
            let now = Instant::now();
            let entry = m
                .entry(key.to_string())
                .or_insert_with(|| (b"0".to_vec(), now + ttl));
            if entry.1 <= now {
                *entry = (b"0".to_vec(), now + ttl);
            }
            let current: u64 = std::str::from_utf8(&entry.0)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let next = current.saturating_add(by);
            entry.0 = next.to_string().into_bytes();
            next
        })
    }
}

/// Redis, with one connection per thread that uses it. A connection's I/O runs as a task of
/// the runtime that opened it; each actix worker has a runtime of its own, so a connection
/// shared by all would cost every command two hops between threads (the worker and the
/// connection's runtime) and back.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    by_thread: Arc<Mutex<HashMap<std::thread::ThreadId, ThreadConnection>>>,
}

/// A thread's connection, and whether the runtime that drives it still runs.
struct ThreadConnection {
    conn: redis::aio::ConnectionManager,
    /// Held by a task of that runtime: gone when the runtime is.
    runtime: std::sync::Weak<()>,
}

/// Fail fast when Redis is away: a request waits at most a few seconds, then gets
/// `temporarily_unavailable` (503), instead of riding out the client's default back-off.
fn connection_config() -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(5))
}

fn unavailable(e: redis::RedisError) -> StoreError {
    crate::errors::count(&crate::errors::REDIS);
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// Connects (on this thread's runtime), so that a wrong URL fails at start.
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let store = Self {
            client: redis::Client::open(url).map_err(unavailable)?,
            prefix: prefix.to_string(),
            by_thread: Arc::new(Mutex::new(HashMap::new())),
        };
        store.conn().await?;
        Ok(store)
    }

    /// This thread's connection, opened on first use (or when its runtime has ended).
    async fn conn(&self) -> StoreResult<redis::aio::ConnectionManager> {
        let thread = std::thread::current().id();
        if let Some(c) = self.by_thread.lock().ok().and_then(|m| {
            m.get(&thread)
                .filter(|c| c.runtime.strong_count() > 0)
                .map(|c| c.conn.clone())
        }) {
            return Ok(c);
        }
        let conn = redis::aio::ConnectionManager::new_with_config(
            self.client.clone(),
            connection_config(),
        )
        .await
        .map_err(unavailable)?;
        let Ok(mut map) = self.by_thread.lock() else {
            return Ok(conn);
        };
        // Another request of this thread may have connected meanwhile: keep one.
        if let Some(c) = map.get(&thread).filter(|c| c.runtime.strong_count() > 0) {
            return Ok(c.conn.clone());
        }
        let alive = Arc::new(());
        let runtime = Arc::downgrade(&alive);
        tokio::spawn(async move {
            let _alive = alive;
            std::future::pending::<()>().await
        });
        map.retain(|_, c| c.runtime.strong_count() > 0);
        map.insert(
            thread,
            ThreadConnection {
                conn: conn.clone(),
                runtime,
            },
        );
        Ok(conn)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u64::MAX as u128) as u64
}

#[async_trait]
impl Ephemeral for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        let mut c = self.conn().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let mut c = self.conn().await?;
        c.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl))
            .await
            .map_err(unavailable)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut c = self.conn().await?;
        c.get(self.key(key)).await.map_err(unavailable)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut c = self.conn().await?;
        // GETDEL is atomic: of two concurrent takes only one gets the value.
        redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let mut c = self.conn().await?;
        c.del::<_, ()>(self.key(key)).await.map_err(unavailable)
    }

    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64> {
        let mut c = self.conn().await?;
        let key = self.key(key);
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .incr(&key, by)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(ttl))
            .arg("NX")
            .query_async(&mut c)
            .await
            .map_err(unavailable)?;
        Ok(count)
    }
}
