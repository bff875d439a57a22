//! Password hashing with argon2id, and a verification whose failure path costs the same time
//! whether the account exists or not.
//!
//! argon2 costs tens of milliseconds of a core by design. Run on an async worker, a few dozen
//! wrong passwords (or client secrets) a second stall every request that worker serves,
//! `/healthz` included. So the service runs every hash and verification on [`POOL`]
//! ([`verify_pooled`], [`hash_pooled`]): at most one per core at once, a short queue behind
//! them, and past the queue an immediate `503 temporarily_unavailable` with `Retry-After`
//! instead of a queue that grows without end. 503 rather than 429: the pool is full because
//! of everyone's requests, not this caller's, and RFC 9110 §15.6.4 names exactly this case
//! ("temporary overload"). Failures are throttled per caller before they reach the pool
//! ([`crate::oidc::throttle`]).
//!
//! The pool has a lane of its own for a browser that has logged in to the account before (its
//! device cookie, [`crate::device`]): as many places and as long a queue again, which nobody
//! else's attempts take. A guesser with many addresses (one IPv6 /48 holds 65,536 /64s, each
//! with its own allowance) can keep the common lane full and make every other attempt wait
//! or get 503, but not the teacher on the browser they always use; that lane's attempts are
//! counted on their own already, so a stranger cannot fill it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::OsRng;
use tokio::sync::Semaphore;

use crate::code::Code;
use crate::error::Error;

/// An argon2id PHC string for `password`. Blocking: on the service's paths use
/// [`hash_pooled`].
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// A hash nobody's password matches, verified when there is no real one so that unknown
/// accounts take as long as wrong passwords.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("gpki-idp: no such account"))
}

/// Whether `password` matches `stored`; `None` (no account, or no password) never matches
/// but costs one full verification. Blocking: on the service's paths use [`verify_pooled`].
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let (phc, real) = match stored {
        Some(h) => (h, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// Whether `stored` is an argon2 hash (rather than another form of a secret).
pub fn is_argon2(stored: &str) -> bool {
    stored.starts_with("$argon2")
}

/// [`verify`] on the pool.
pub async fn verify_pooled(stored: Option<String>, password: String) -> Result<bool, Error> {
    POOL.get_or_init(Pool::for_this_machine)
        .run(move || verify(stored.as_deref(), &password))
        .await
}

/// [`verify`] on the pool's lane for a browser that has logged in to the account before.
pub async fn verify_pooled_known(stored: Option<String>, password: String) -> Result<bool, Error> {
    POOL.get_or_init(Pool::for_this_machine)
        .run_known(move || verify(stored.as_deref(), &password))
        .await
}

/// [`hash`] on the pool.
pub async fn hash_pooled(password: String) -> Result<String, Error> {
    POOL.get_or_init(Pool::for_this_machine)
        .run(move || hash(&password))
        .await
}

/// The service's one pool of password work, sized on first use.
pub static POOL: OnceLock<Pool> = OnceLock::new();

/// Blocking work bounded twice: `threads` run at once, `queue` more may wait for them, and
/// the rest are refused at once.
pub struct Pool {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    /// The known browsers' lane: places and a queue of the same size as the common one.
    known_running: Arc<Semaphore>,
    known_waiting: AtomicUsize,
}

/// Waits in the queue this long at most (a request's own deadline may cut it shorter).
const LONGEST_WAIT: Duration = Duration::from_secs(2);

impl Pool {
    pub fn new(threads: usize, queue: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(threads.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            known_running: Arc::new(Semaphore::new(threads.max(1))),
            known_waiting: AtomicUsize::new(0),
        }
    }

    /// One thread per core, and a queue of 16 per thread: with argon2's ~20 ms a
    /// verification, the last one waits about a third of a second.
    fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, 16 * cores)
    }

    /// Runs `work` on a blocking thread when one of the pool's places is free; waits for
    /// one in the queue when the queue has room; else `503 temporarily_unavailable`.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Self::run_in(&self.running, &self.waiting, self.queue, work).await
    }

    /// [`Pool::run`] in the lane of browsers that have logged in to the account before.
    pub async fn run_known<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Self::run_in(&self.known_running, &self.known_waiting, self.queue, work).await
    }

    async fn run_in<T, F>(
        running: &Arc<Semaphore>,
        waiting: &AtomicUsize,
        queue: usize,
        work: F,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let place = match running.clone().try_acquire_owned() {
            Ok(place) => place,
            Err(_) => Self::wait_for_place(running, waiting, queue).await?,
        };
        // The place goes with the work: a caller that gives up does not free it early.
        tokio::task::spawn_blocking(move || {
            let _place = place;
            work()
        })
        .await
        .map_err(|_| Error::server_error())
    }

    async fn wait_for_place(
        running: &Arc<Semaphore>,
        waiting: &AtomicUsize,
        queue: usize,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        if waiting.fetch_add(1, Ordering::AcqRel) >= queue {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        // Counted out however the wait ends (a caller that gives up included).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _waiting = Waiting(waiting);
        let wait = crate::deadline::remaining(LONGEST_WAIT);
        match tokio::time::timeout(wait, running.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => Err(busy()),
        }
    }
}

/// Every place of the pool taken and its queue full.
fn busy() -> Error {
    Error {
        retry_after: Some(1),
        ..Error::new(
            Code::TemporarilyUnavailable,
            "too many password checks at once; try again in a moment",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip_and_no_account() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$") && is_argon2(&h));
        assert!(verify(Some(&h), "correct horse"));
        assert!(!verify(Some(&h), "wrong"));
        assert!(!verify(None, "correct horse"));
        assert!(!verify(Some("not a hash"), "x"));
    }

    /// One place and a queue of one: of three at once, one runs, one waits, one is refused
    /// at once with a 503 and Retry-After; the refused one cost nothing.
    #[tokio::test]
    async fn the_pool_runs_its_places_queues_a_few_and_refuses_the_rest() {
        let pool = Arc::new(Pool::new(1, 1));
        let started = Arc::new(AtomicUsize::new(0));
        let slow = |pool: Arc<Pool>, started: Arc<AtomicUsize>| async move {
            pool.run(move || {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(300));
            })
            .await
        };
        let first = tokio::spawn(slow(pool.clone(), started.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = tokio::spawn(slow(pool.clone(), started.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = slow(pool.clone(), started.clone()).await.unwrap_err();
        assert_eq!(refused.code, Code::TemporarilyUnavailable);
        assert_eq!(refused.retry_after, Some(1));
        assert!(first.await.unwrap().is_ok());
        assert!(second.await.unwrap().is_ok(), "the queued one ran");
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
        assert!(pool.run(|| ()).await.is_ok(), "free again");
    }

    /// The common lane full (its place taken, its queue full): a stranger is refused at once,
    /// a browser that knows the account runs in its own lane without waiting for them.
    #[tokio::test]
    async fn a_known_browser_does_not_wait_behind_a_full_pool() {
        let pool = Arc::new(Pool::new(1, 1));
        let hold = |pool: Arc<Pool>| async move {
            pool.run(|| std::thread::sleep(Duration::from_millis(600)))
                .await
        };
        let running = tokio::spawn(hold(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = tokio::spawn(hold(pool.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run(|| ()).await.unwrap_err();
        assert_eq!(refused.code, Code::TemporarilyUnavailable);
        let started = std::time::Instant::now();
        assert!(pool.run_known(|| ()).await.is_ok());
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "it did not wait"
        );
        running.await.unwrap().unwrap();
        queued.await.unwrap().unwrap();
    }

    /// A caller that gives up while queued leaves the queue.
    #[tokio::test]
    async fn a_caller_that_gives_up_leaves_the_queue() {
        let pool = Arc::new(Pool::new(1, 1));
        let busy = pool.clone();
        let running = tokio::spawn(async move {
            busy.run(|| std::thread::sleep(Duration::from_millis(300)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), pool.run(|| ())).await;
        assert!(gave_up.is_err(), "still waiting when it gave up");
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
        running.await.unwrap().unwrap();
    }
}
