//! [`Ephemeral`] state: in-process (the embedded default, one process) and Redis (several
//! replicas share it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gpki_idp_core::ephemeral::{AttemptScope, Ephemeral};
use gpki_idp_core::store::{StoreError, StoreResult};
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

/// Adds one to the counter at `key` (a new one lives `window`); its new value.
fn count_in(
    m: &mut HashMap<String, (Vec<u8>, Instant)>,
    key: &str,
    window: Duration,
    now: Instant,
) -> u64 {
    let entry = m
        .entry(key.to_string())
        .or_insert_with(|| (b"0".to_vec(), now + window));
    if entry.1 <= now {
        *entry = (b"0".to_vec(), now + window);
    }
    let next = std::str::from_utf8(&entry.0)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0)
        .saturating_add(1);
    entry.0 = next.to_string().into_bytes();
    next
}

/// Milliseconds since the Unix epoch (what `{key}:until` holds, as Redis's clock gives it).
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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

    async fn reserve_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<Duration> {
        self.with(|m| {
            let now = Instant::now();
            let unix_ms = unix_millis();
            let wait = scopes
                .iter()
                .filter_map(|s| live(m.get(&s.until_key())))
                .filter_map(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok())
                .map(|until| until.saturating_sub(unix_ms))
                .max()
                .unwrap_or(0);
            if wait > 0 {
                return Duration::from_millis(wait);
            }
            for scope in scopes {
                let failures = count_in(m, &scope.key, scope.window, now);
                let delay = scope.delay_after(failures);
                if !delay.is_zero() {
                    let until = unix_ms + delay.as_millis() as u64;
                    m.insert(
                        scope.until_key(),
                        (until.to_string().into_bytes(), now + delay),
                    );
                }
            }
            Duration::ZERO
        })
    }

    async fn release_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<()> {
        self.with(|m| {
            for scope in scopes {
                let Some(entry) = m.get_mut(&scope.key) else {
                    continue;
                };
                let count = std::str::from_utf8(&entry.0)
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0)
                    .saturating_sub(1);
                entry.0 = count.to_string().into_bytes();
                if count < scope.free {
                    m.remove(&scope.until_key());
                }
            }
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

/// The longest one Redis call may take (a connection, then its answer), cut to what is left
/// of the request's deadline.
const REDIS_WAIT: Duration = Duration::from_secs(7);

/// Runs one Redis call within [`REDIS_WAIT`] and the request's deadline.
async fn bounded<T>(call: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let wait = gpki_idp_core::deadline::remaining(REDIS_WAIT);
    match tokio::time::timeout(wait, call).await {
        Ok(result) => result,
        Err(_) => {
            crate::errors::count(&crate::errors::REDIS);
            Err(StoreError::Unavailable(
                "redis did not answer in time".into(),
            ))
        }
    }
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

/// [`Ephemeral::reserve_attempt`] as one script: Redis runs it atomically, so of concurrent
/// attempts (on any replica) none passes a wait another one's reservation has set. The clock
/// is Redis's own, the same for every replica. KEYS: each scope's counter and its `until`;
/// ARGV: each scope's free failures, first wait, longest wait and window (milliseconds).
static RESERVE_ATTEMPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, #KEYS / 2 do
  local untl = tonumber(redis.call('GET', KEYS[2 * i]) or '0') or 0
  if untl - now > wait then wait = untl - now end
end
if wait > 0 then return wait end
for i = 1, #KEYS / 2 do
  local free, base, cap, win = tonumber(ARGV[4*i-3]), tonumber(ARGV[4*i-2]), tonumber(ARGV[4*i-1]), tonumber(ARGV[4*i])
  local failures = redis.call('INCR', KEYS[2 * i - 1])
  if failures == 1 then redis.call('PEXPIRE', KEYS[2 * i - 1], win) end
  if failures >= free then
    local delay = math.floor(math.min(base * 2 ^ math.min(failures - free, 30), cap))
    if delay > 0 then
      redis.call('SET', KEYS[2 * i], string.format('%d', now + delay), 'PX', delay)
    end
  end
end
return 0
",
    )
});

/// [`Ephemeral::release_attempt`] as one script. KEYS: each scope's counter and its `until`;
/// ARGV: each scope's free failures.
static RELEASE_ATTEMPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
for i = 1, #KEYS / 2 do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    local count = redis.call('DECR', KEYS[2 * i - 1])
    if count < 0 then redis.call('SET', KEYS[2 * i - 1], 0, 'KEEPTTL') count = 0 end
    if count < tonumber(ARGV[i]) then redis.call('DEL', KEYS[2 * i]) end
  end
end
return 0
",
    )
});

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u64::MAX as u128) as u64
}

#[async_trait]
impl Ephemeral for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        bounded(async {
            let mut c = self.conn().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut c)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
        .await
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        bounded(async {
            let mut c = self.conn().await?;
            c.pset_ex::<_, _, ()>(self.key(key), value, millis(ttl))
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        bounded(async {
            let mut c = self.conn().await?;
            c.get(self.key(key)).await.map_err(unavailable)
        })
        .await
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        bounded(async {
            let mut c = self.conn().await?;
            // GETDEL is atomic: of two concurrent takes only one gets the value.
            redis::cmd("GETDEL")
                .arg(self.key(key))
                .query_async(&mut c)
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        bounded(async {
            let mut c = self.conn().await?;
            c.del::<_, ()>(self.key(key)).await.map_err(unavailable)
        })
        .await
    }

    async fn reserve_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<Duration> {
        bounded(async {
            let mut c = self.conn().await?;
            let mut call = RESERVE_ATTEMPT.prepare_invoke();
            for scope in scopes {
                call.key(self.key(&scope.key))
                    .key(self.key(&scope.until_key()));
                call.arg(scope.free)
                    .arg(millis(scope.base))
                    .arg(millis(scope.cap))
                    .arg(millis(scope.window));
            }
            let wait: u64 = call.invoke_async(&mut c).await.map_err(unavailable)?;
            Ok(Duration::from_millis(wait))
        })
        .await
    }

    async fn release_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<()> {
        bounded(async {
            let mut c = self.conn().await?;
            let mut call = RELEASE_ATTEMPT.prepare_invoke();
            for scope in scopes {
                call.key(self.key(&scope.key))
                    .key(self.key(&scope.until_key()));
                call.arg(scope.free);
            }
            call.invoke_async::<()>(&mut c).await.map_err(unavailable)
        })
        .await
    }

    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64> {
        bounded(async {
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
        })
        .await
    }
}
