//! Refresh-token rotation under concurrent presentations, on PostgreSQL and on SQLite: the
//! decision between a rotation, a retry within the grace window and a replay is taken in one
//! transaction holding the family, so no interleaving lets a replay pass unnoticed or leave a
//! token of a revoked family alive.

use std::sync::Arc;

use gpki_idp_core::model::{NewUser, RefreshRecord, Rotation};
use gpki_idp_core::store::Directory;
use gpki_idp_store::testing;

/// Rounds of each race.
const ROUNDS: usize = 20;
/// Presentations of one token at once.
const AT_ONCE: usize = 8;

struct Family {
    dir: Arc<dyn Directory>,
    school: i64,
    user: i64,
    id: String,
}

impl Family {
    async fn new(dir: Arc<dyn Directory>, school: i64, user: i64) -> Self {
        let id = gpki_idp_core::random_token(16);
        let family = Self {
            dir,
            school,
            user,
            id,
        };
        family
            .dir
            .insert_refresh(family.record("t0"))
            .await
            .unwrap();
        family
    }

    /// The record of token `name` of this family, made now.
    fn record(&self, name: &str) -> RefreshRecord {
        let now = gpki_idp_core::now();
        RefreshRecord {
            token_hash: format!("{}:{name}", self.id),
            family_id: self.id.clone(),
            school_id: self.school,
            client_id: "portal".into(),
            user_id: self.user,
            scope: "openid".into(),
            auth_time: now,
            acr: "x".into(),
            amr: vec![],
            created_at: now,
            expires_at: now + 3600,
            used: false,
            revoked: false,
            session_id: None,
        }
    }

    /// Presents token `old`, whose successor is `new`, with a grace window of `grace` s.
    async fn present(&self, old: &str, new: &str, grace: Option<i64>) -> Rotation {
        let since = grace.map(|g| gpki_idp_core::now() - g);
        let old_hash = format!("{}:{old}", self.id);
        self.dir
            .rotate_refresh(self.school, &old_hash, self.record(new), since)
            .await
            .unwrap()
    }

    /// `n` presentations of `old` at once.
    async fn present_at_once(
        self: &Arc<Self>,
        n: usize,
        old: &str,
        new: &str,
        grace: Option<i64>,
    ) -> Vec<Rotation> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (family, old, new) = (self.clone(), old.to_string(), new.to_string());
                tokio::spawn(async move { family.present(&old, &new, grace).await })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        answers
    }

    /// The token `name`: (used, revoked), if it is stored.
    async fn state(&self, name: &str) -> Option<(bool, bool)> {
        let hash = format!("{}:{name}", self.id);
        let found = self.dir.refresh_by_hash(self.school, &hash).await.unwrap();
        found.map(|r| (r.used, r.revoked))
    }

    /// Whether every stored token of `names` is revoked.
    async fn ended(&self, names: &[&str]) -> bool {
        for name in names {
            if let Some((_, false)) = self.state(name).await {
                return false;
            }
        }
        true
    }
}

async fn school_and_user(dir: &dyn Directory) -> (i64, i64) {
    let school = dir.create_school("race", "競賽國小").await.unwrap();
    let user = dir
        .create_user(NewUser {
            school_id: school.id,
            username: "t".into(),
            display_name: "t".into(),
            password_hash: None,
            roles: vec![],
            password_must_change: false,
        })
        .await
        .unwrap();
    (school.id, user.id)
}

fn count(answers: &[Rotation], which: Rotation) -> usize {
    answers.iter().filter(|a| **a == which).count()
}

async fn races(dir: Arc<dyn Directory>) {
    let (school, user) = school_and_user(dir.as_ref()).await;
    let family = || Family::new(dir.clone(), school, user);

    // Without a window: of many presentations of one token at once, one rotates and every
    // other ends the family, its new successor included.
    for round in 0..ROUNDS {
        let f = Arc::new(family().await);
        let answers = f.present_at_once(AT_ONCE, "t0", "t1", None).await;
        assert_eq!(
            count(&answers, Rotation::Rotated),
            1,
            "round {round}: {answers:?}"
        );
        assert_eq!(
            count(&answers, Rotation::Replayed),
            AT_ONCE - 1,
            "round {round}"
        );
        assert!(
            f.ended(&["t0", "t1"]).await,
            "round {round}: the family lives on"
        );
    }

    // With a window: one rotates, the others are retries answered with the same successor;
    // nothing is revoked and the successor stays unused.
    for round in 0..ROUNDS {
        let f = Arc::new(family().await);
        let answers = f.present_at_once(AT_ONCE, "t0", "t1", Some(60)).await;
        assert_eq!(
            count(&answers, Rotation::Rotated),
            1,
            "round {round}: {answers:?}"
        );
        assert_eq!(
            count(&answers, Rotation::Again),
            AT_ONCE - 1,
            "round {round}"
        );
        assert_eq!(f.state("t1").await, Some((false, false)));
    }

    // With a window, once the successor was used the old token is a replay.
    let f = family().await;
    assert_eq!(f.present("t0", "t1", Some(60)).await, Rotation::Rotated);
    assert_eq!(f.present("t1", "t2", Some(60)).await, Rotation::Rotated);
    assert_eq!(f.present("t0", "t1", Some(60)).await, Rotation::Replayed);
    assert!(f.ended(&["t0", "t1", "t2"]).await);

    // Out of the window it is a replay too, the successor unused or not.
    let f = family().await;
    let made_long_ago = RefreshRecord {
        created_at: gpki_idp_core::now() - 120,
        ..f.record("t1")
    };
    let old_hash = format!("{}:t0", f.id);
    let rotated = dir.rotate_refresh(school, &old_hash, made_long_ago, None);
    assert_eq!(rotated.await.unwrap(), Rotation::Rotated);
    assert_eq!(
        f.present("t0", "t1", Some(60)).await,
        Rotation::Replayed,
        "the successor was made 120 s ago"
    );
    assert!(f.ended(&["t0", "t1"]).await);

    // The owner uses the successor while a thief replays the first token: the thief is a
    // retry only if it came first; else the family ends, the owner's new token included —
    // never a refused thief and a live family.
    for grace in [None, Some(60)] {
        for round in 0..ROUNDS {
            let f = Arc::new(family().await);
            assert_eq!(f.present("t0", "t1", Some(60)).await, Rotation::Rotated);
            let (owner, thief) = (f.clone(), f.clone());
            let owner = tokio::spawn(async move { owner.present("t1", "t2", grace).await });
            let thief = tokio::spawn(async move { thief.present("t0", "t1", grace).await });
            let (owner, thief) = (owner.await.unwrap(), thief.await.unwrap());
            match thief {
                Rotation::Again => assert!(grace.is_some() && owner == Rotation::Rotated),
                Rotation::Replayed => assert!(
                    f.ended(&["t0", "t1", "t2"]).await,
                    "grace {grace:?} round {round}: owner {owner:?}, the family lives on"
                ),
                Rotation::Rotated => panic!("a used token rotated"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_races_on_postgres() {
    races(Arc::new(testing::postgres_directory().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_races_on_sqlite() {
    races(Arc::new(testing::sqlite_directory().await)).await;
}
