//! [`Ephemeral`] state: in-process (the embedded default, one process) and Redis (several
//! replicas share it).

use std::collections::HashMap;
use std::sync::Mutex;
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

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<u64> {
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
            entry.0 = (current + 1).to_string().into_bytes();
            current + 1
        })
    }
}

#[derive(Clone)]
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    crate::errors::count(&crate::errors::REDIS);
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: prefix.to_string(),
        })
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
        let mut c = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let mut c = self.conn.clone();
        c.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl))
            .await
            .map_err(unavailable)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        c.get(self.key(key)).await.map_err(unavailable)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        // GETDEL is atomic: of two concurrent takes only one gets the value.
        redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let mut c = self.conn.clone();
        c.del::<_, ()>(self.key(key)).await.map_err(unavailable)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<u64> {
        let mut c = self.conn.clone();
        let key = self.key(key);
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1u64)
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
