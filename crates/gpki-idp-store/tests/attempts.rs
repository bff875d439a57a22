//! Throttled attempts and the service's secrets, on the real servers (Redis, PostgreSQL) and
//! on the embedded defaults (in-process, SQLite): the same checks for each.

use std::sync::Arc;
use std::time::Duration;

use gpki_idp_core::ephemeral::{AttemptScope, Ephemeral};
use gpki_idp_core::store::Directory;
use gpki_idp_store::{testing, InProcess};

fn scope(key: &str, free: u64) -> AttemptScope {
    AttemptScope {
        key: key.into(),
        free,
        base: Duration::from_secs(2),
        cap: Duration::from_secs(60),
        window: Duration::from_secs(60),
    }
}

/// A burst of concurrent attempts: only the free ones pass, however they interleave, and the
/// rest are told how long to wait without being counted.
async fn a_burst_passes_only_the_allowance(store: Arc<dyn Ephemeral>) {
    let scopes = vec![scope("rl:pair:x", 5), scope("rl:acct:x", 20)];
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (store, scopes) = (store.clone(), scopes.clone());
            tokio::spawn(async move { store.reserve_attempt(&scopes).await.unwrap() })
        })
        .collect();
    let mut passed = 0;
    for task in tasks {
        let wait = task.await.unwrap();
        if wait.is_zero() {
            passed += 1;
        } else {
            assert!(wait <= Duration::from_secs(2), "{wait:?}");
        }
    }
    assert_eq!(passed, 5, "a race may not pass more than the allowance");
    let count = store.get("rl:acct:x").await.unwrap().unwrap();
    assert_eq!(count, b"5", "refused attempts are not counted");
    // Another account's scopes are untouched.
    assert!(store
        .reserve_attempt(&[scope("rl:pair:y", 5)])
        .await
        .unwrap()
        .is_zero());
    // A right answer gives the reservation back: the scope's keys go.
    for s in &scopes {
        store.delete(&s.key).await.unwrap();
        store.delete(&s.until_key()).await.unwrap();
    }
    assert!(store.reserve_attempt(&scopes).await.unwrap().is_zero());
}

async fn a_wait_ends_and_doubles(store: Arc<dyn Ephemeral>) {
    let s = [AttemptScope {
        base: Duration::from_millis(300),
        ..scope("rl:w", 1)
    }];
    assert!(store.reserve_attempt(&s).await.unwrap().is_zero(), "free");
    let wait = store.reserve_attempt(&s).await.unwrap();
    assert!(!wait.is_zero() && wait <= Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        store.reserve_attempt(&s).await.unwrap().is_zero(),
        "after the wait"
    );
    let doubled = store.reserve_attempt(&s).await.unwrap();
    assert!(doubled > Duration::from_millis(300), "{doubled:?}");
}

/// A right answer at a shared address gives back only its own attempt, and the wait it set.
async fn a_release_gives_back_one(store: Arc<dyn Ephemeral>) {
    let shared = [scope("rl:ip:z", 2)];
    for _ in 0..2 {
        assert!(store.reserve_attempt(&shared).await.unwrap().is_zero());
    }
    assert!(
        !store.reserve_attempt(&shared).await.unwrap().is_zero(),
        "waits"
    );
    store.release_attempt(&shared).await.unwrap();
    assert!(
        store.reserve_attempt(&shared).await.unwrap().is_zero(),
        "the wait ended"
    );
    for _ in 0..5 {
        store.release_attempt(&shared).await.unwrap();
    }
    assert_eq!(
        store.get("rl:ip:z").await.unwrap().unwrap(),
        b"0",
        "never below 0"
    );
    store
        .release_attempt(&[scope("rl:ip:none", 2)])
        .await
        .unwrap();
    assert!(store.get("rl:ip:none").await.unwrap().is_none());
}

async fn secrets_are_made_once(dir: &dyn Directory) {
    let first = dir.secret("k", b"one".to_vec()).await.unwrap();
    let again = dir.secret("k", b"two".to_vec()).await.unwrap();
    assert_eq!(
        (first.as_slice(), again.as_slice()),
        (&b"one"[..], &b"one"[..])
    );
    assert_eq!(dir.secret("other", b"x".to_vec()).await.unwrap(), b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attempts_in_process() {
    a_burst_passes_only_the_allowance(Arc::new(InProcess::new())).await;
    a_wait_ends_and_doubles(Arc::new(InProcess::new())).await;
    a_release_gives_back_one(Arc::new(InProcess::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attempts_on_redis() {
    a_burst_passes_only_the_allowance(Arc::new(testing::redis_store().await)).await;
    a_wait_ends_and_doubles(Arc::new(testing::redis_store().await)).await;
    a_release_gives_back_one(Arc::new(testing::redis_store().await)).await;
}

#[tokio::test]
async fn secrets_on_sqlite_and_postgres() {
    secrets_are_made_once(&testing::sqlite_directory().await).await;
    secrets_are_made_once(&testing::postgres_directory().await).await;
}
