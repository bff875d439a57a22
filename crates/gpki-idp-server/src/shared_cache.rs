//! The engine's shared OCSP verdicts in Redis, so that replicas ask the responder once between
//! them. The engine calls it from blocking threads; one thread here owns the Redis connection
//! and its runtime, and answers over channels (a slow or absent answer is a miss).

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use gpki_idp_core::ephemeral::Ephemeral;
use gpki_idp_store::RedisStore;
use gpki_verify::revocation::shared::SharedStatusCache;

/// How long a lookup may wait before it counts as a miss.
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(250);

enum Request {
    Get(String, mpsc::Sender<Option<String>>),
    Put(String, String, Duration),
}

/// OCSP verdicts shared through Redis.
pub struct RedisStatusCache {
    requests: Mutex<mpsc::Sender<Request>>,
}

impl RedisStatusCache {
    /// Connects (in its own thread) to `url`, keys under `prefix`.
    pub fn start(url: &str, prefix: &str) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (url, prefix) = (url.to_string(), format!("{prefix}verdict:"));
        std::thread::Builder::new()
            .name("gpki-shared-ocsp".into())
            .spawn(move || serve(&url, &prefix, rx, ready_tx))
            .map_err(|e| e.to_string())?;
        ready_rx
            .recv()
            .map_err(|_| "the shared OCSP cache did not start".to_string())??;
        Ok(Self {
            requests: Mutex::new(tx),
        })
    }

    fn send(&self, request: Request) {
        if let Ok(tx) = self.requests.lock() {
            let _ = tx.send(request);
        }
    }
}

fn serve(
    url: &str,
    prefix: &str,
    requests: mpsc::Receiver<Request>,
    ready: mpsc::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let store = match runtime.block_on(RedisStore::connect(url, prefix)) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(format!("redis: {e}")));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    // Ends when the cache is dropped (its sender with it).
    for request in requests {
        match request {
            Request::Get(key, reply) => {
                let value = runtime.block_on(store.get(&key)).ok().flatten();
                let _ = reply.send(value.and_then(|v| String::from_utf8(v).ok()));
            }
            Request::Put(key, value, ttl) => {
                let _ = runtime.block_on(store.put(&key, value.as_bytes(), ttl));
            }
        }
    }
}

impl SharedStatusCache for RedisStatusCache {
    fn get(&self, key: &str) -> Option<String> {
        let (tx, rx) = mpsc::channel();
        self.send(Request::Get(key.to_string(), tx));
        rx.recv_timeout(LOOKUP_TIMEOUT).ok().flatten()
    }

    fn put(&self, key: &str, value: &str, ttl: Duration) {
        self.send(Request::Put(key.to_string(), value.to_string(), ttl));
    }
}
