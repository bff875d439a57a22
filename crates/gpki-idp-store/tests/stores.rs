//! The storage traits on the real servers (PostgreSQL, Redis) and on the embedded defaults
//! (SQLite, in-process): the same checks for each.

use std::time::Duration;

use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::ephemeral::Ephemeral;
use gpki_idp_core::model::{NewClient, NewRegistration, NewUser, RefreshRecord, Rotation};
use gpki_idp_core::store::{Directory, StoreError};
use gpki_idp_store::testing;

async fn directory_checks(dir: &dyn Directory) {
    dir.ping().await.unwrap();
    let a = dir.create_school("alpha", "甲國小").await.unwrap();
    let b = dir.create_school("beta", "乙國中").await.unwrap();
    assert!(matches!(
        dir.create_school("alpha", "dup").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        dir.school_by_code("alpha").await.unwrap().unwrap().name,
        "甲國小"
    );
    assert!(dir.school_by_code("nope").await.unwrap().is_none());

    let user = dir
        .create_user(NewUser {
            school_id: a.id,
            username: "t001".into(),
            display_name: "王老師".into(),
            password_hash: Some("h".into()),
            roles: vec!["teacher".into()],
            password_must_change: false,
        })
        .await
        .unwrap();
    assert_eq!(user.roles, ["teacher"]);
    assert_eq!(
        dir.user_by_username(a.id, "t001")
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );
    assert!(
        dir.user_by_username(b.id, "t001").await.unwrap().is_none(),
        "users are per school"
    );
    assert!(
        dir.user_by_id(b.id, user.id).await.unwrap().is_none(),
        "ids do not cross schools"
    );

    // A card login reads the account and its binding in one query.
    let fp = "ab".repeat(32);
    let binding = gpki_idp_core::model::CertBinding {
        id: 0,
        school_id: a.id,
        user_id: user.id,
        cert_sha256: fp.clone(),
        serial_hex: "01".into(),
        issuer_dn: "CN=MOICA".into(),
        subject_cn: "王老師".into(),
        not_after: "2033-05-18T03:33:20Z".into(),
    };
    let registration = NewRegistration {
        binding,
        enrollment_code: None,
        at: 0,
    };
    let registered = AuditEvent::new(a.id, "certificate.register", "success", "t001");
    dir.register_certificate(registration, Audit::event(registered))
        .await
        .unwrap();
    let bound = dir.user_bound_to_cert(a.id, "t001", &fp).await.unwrap();
    assert_eq!(bound.map(|u| u.id), Some(user.id));
    let other = dir
        .create_user(NewUser {
            school_id: a.id,
            username: "t002".into(),
            display_name: "李老師".into(),
            password_hash: None,
            roles: vec!["teacher".into()],
            password_must_change: false,
        })
        .await
        .unwrap();
    assert!(
        dir.user_bound_to_cert(a.id, &other.username, &fp)
            .await
            .unwrap()
            .is_none(),
        "another account's certificate"
    );
    assert!(dir
        .user_bound_to_cert(a.id, "t001", &"cd".repeat(32))
        .await
        .unwrap()
        .is_none());
    assert!(
        dir.user_bound_to_cert(b.id, "t001", &fp)
            .await
            .unwrap()
            .is_none(),
        "bindings do not cross schools"
    );

    let client = NewClient {
        school_id: a.id,
        client_id: "portal".into(),
        name: "校務系統".into(),
        secret_hash: None,
        public_client: true,
        require_pkce: true,
        redirect_uris: vec!["https://portal.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        id_token_alg: "RS256".into(),
        jwks: None,
        allowed_scopes: gpki_idp_core::model::default_scopes(),
        default_acr_values: vec![],
        min_acr: None,
        refresh_reuse_grace_secs: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    dir.create_client(client.clone()).await.unwrap();
    assert_eq!(
        dir.client(a.id, "portal")
            .await
            .unwrap()
            .unwrap()
            .redirect_uris,
        ["https://portal.example/cb"]
    );
    assert!(dir.client(b.id, "portal").await.unwrap().is_none());

    let key = gpki_idp_core::keys::SigningKey::generate(gpki_idp_core::keys::Alg::Es256).unwrap();
    let kid = key.kid.clone();
    let rotated = || Audit::event(AuditEvent::new(a.id, "key.rotate", "success", "cli"));
    dir.add_signing_keys(a.id, vec![key], None, rotated())
        .await
        .unwrap();
    let newer = gpki_idp_core::keys::SigningKey::generate(gpki_idp_core::keys::Alg::Es256).unwrap();
    let newer_kid = newer.kid.clone();
    dir.add_signing_keys(a.id, vec![newer], Some(1000), rotated())
        .await
        .unwrap();
    let keys = dir.signing_keys(a.id).await.unwrap();
    assert_eq!(keys[0].kid, newer_kid, "newest first");
    assert_eq!(
        keys.iter().find(|k| k.kid == kid).unwrap().retired_at,
        Some(1000)
    );
    assert!(dir.signing_keys(b.id).await.unwrap().is_empty());

    let record = RefreshRecord {
        token_hash: "h1".into(),
        family_id: "f1".into(),
        school_id: a.id,
        client_id: "portal".into(),
        user_id: user.id,
        scope: "openid".into(),
        auth_time: 1,
        acr: "x".into(),
        amr: vec!["pwd".into()],
        created_at: 1,
        expires_at: i64::MAX / 2,
        used: false,
        revoked: false,
        session_id: Some("s1".into()),
    };
    dir.insert_refresh(record.clone()).await.unwrap();
    assert!(
        dir.refresh_by_hash(b.id, "h1").await.unwrap().is_none(),
        "refresh tokens are per school"
    );
    assert!(!dir.refresh_by_hash(a.id, "h1").await.unwrap().unwrap().used);

    // Rotation: the old token used and its successor stored in one step, once.
    let successor = |hash: &str| RefreshRecord {
        token_hash: hash.into(),
        ..record.clone()
    };
    dir.insert_refresh(successor("h2")).await.unwrap();
    assert_eq!(
        dir.rotate_refresh(a.id, "h2", successor("h3"), None)
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        dir.rotate_refresh(a.id, "h2", successor("h4"), None)
            .await
            .unwrap(),
        Rotation::Replayed,
        "a used token does not rotate twice"
    );
    assert!(
        dir.refresh_by_hash(a.id, "h4").await.unwrap().is_none(),
        "nothing written"
    );
    assert!(dir.refresh_by_hash(a.id, "h2").await.unwrap().unwrap().used);
    assert!(!dir.refresh_by_hash(a.id, "h3").await.unwrap().unwrap().used);
    assert_eq!(
        dir.rotate_refresh(b.id, "h3", successor("h5"), None)
            .await
            .unwrap(),
        Rotation::Replayed,
        "per school"
    );
    assert!(
        dir.refresh_by_hash(b.id, "h5").await.unwrap().is_none(),
        "nothing written in another school"
    );
    dir.revoke_refresh_family(a.id, "f1").await.unwrap();

    let mut event = AuditEvent::new(a.id, "login.password", "success", "t001");
    event.detail = serde_json::json!({"k": "v"});
    dir.append_audit(event.clone()).await.unwrap();
    let logins = AuditFilter {
        event: Some("login.password".into()),
        ..AuditFilter::default()
    };
    let found = dir.query_audit(a.id, logins.clone(), 0, 10).await.unwrap();
    assert_eq!(
        found.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        vec![event]
    );
    assert!(
        dir.query_audit(b.id, logins, 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "audit is per school"
    );
    assert!(
        dir.refresh_by_hash(a.id, "h1")
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
}

async fn ephemeral_checks(eph: &dyn Ephemeral) {
    eph.ping().await.unwrap();
    eph.put("k", b"v", Duration::from_secs(60)).await.unwrap();
    assert_eq!(eph.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(eph.take("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert!(eph.take("k").await.unwrap().is_none(), "single use");
    eph.put("short", b"v", Duration::from_millis(50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(eph.get("short").await.unwrap().is_none(), "expired");
    assert_eq!(eph.incr("c", Duration::from_secs(60)).await.unwrap(), 1);
    assert_eq!(eph.incr("c", Duration::from_secs(60)).await.unwrap(), 2);
    assert_eq!(
        eph.get("c").await.unwrap().as_deref(),
        Some(&b"2"[..]),
        "counters read back as decimal text"
    );
    eph.delete("c").await.unwrap();
    assert_eq!(eph.incr("c", Duration::from_secs(60)).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_directory() {
    directory_checks(&testing::sqlite_directory().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_directory() {
    directory_checks(&testing::postgres_directory().await).await;
}

/// A PostgreSQL restart or failover ends every pooled connection. Connections are not pinged
/// before each use (a round trip per query); a failed query makes its connection suspect, so
/// each dead connection fails at most one query and is then replaced.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_connections_ended_by_the_server_are_replaced() {
    use diesel::{Connection, RunQueryDsl};
    let url = testing::fresh_postgres_url();
    let pool_size = 2;
    let dir = gpki_idp_store::SqlDirectory::new(gpki_idp_store::db::pool(&url, pool_size).unwrap());
    dir.migrate().await.unwrap();
    dir.create_school("alpha", "甲國小").await.unwrap();

    let database = url.rsplit_once('/').unwrap().1.to_string();
    let mut admin = diesel::PgConnection::establish(&testing::postgres_admin_url()).unwrap();
    let ended = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .unwrap();
    assert!(ended >= 1, "the pool's connections were ended");

    let mut failed = 0;
    for _ in 0..8 {
        match dir.school_by_code("alpha").await {
            Ok(Some(_)) => {}
            Err(StoreError::Unavailable(_) | StoreError::Other(_)) => failed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        failed <= pool_size as usize,
        "{failed} failures: a dead connection went on failing"
    );
    assert!(dir.school_by_code("alpha").await.unwrap().is_some());
}

/// SQLite's WAL is copied into the database file by the pool's own thread, not left to grow
/// until a request's commit crosses the automatic checkpoint.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_wal_is_checkpointed_in_the_background() {
    let path = std::env::temp_dir().join(format!("gpki-ckpt-{}.sqlite", std::process::id()));
    let pool = gpki_idp_store::db::pool(&path.to_string_lossy(), 2).unwrap();
    assert!(gpki_idp_store::db::sqlite_in_wal_mode(
        &mut pool.get().unwrap()
    ));
    let dir = gpki_idp_store::SqlDirectory::new(pool);
    dir.migrate().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = std::fs::metadata(&path).unwrap().len();
    let school = dir.create_school("alpha", "甲國小").await.unwrap();
    for i in 0..300 {
        dir.create_user(NewUser {
            school_id: school.id,
            username: format!("t{i:04}-{}", "x".repeat(200)),
            display_name: "王老師".into(),
            password_hash: None,
            roles: vec!["teacher".into()],
            password_must_change: false,
        })
        .await
        .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file did not grow: the WAL was never checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(dir);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_process_ephemeral() {
    ephemeral_checks(&testing::in_process()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_ephemeral() {
    ephemeral_checks(&testing::redis_store().await).await;
}

/// Each thread gets its own Redis connection, driven by that thread's runtime; when the
/// runtime ends (a test's, a worker restarted), the next command on the thread opens a new one
/// instead of using a connection nothing drives any more.
#[test]
fn redis_connection_follows_the_threads_runtime() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let store = first.block_on(testing::redis_store());
    first
        .block_on(store.put("k", b"v", Duration::from_secs(60)))
        .unwrap();
    drop(first);
    let second = runtime();
    let value = second.block_on(store.get("k")).unwrap();
    assert_eq!(value.as_deref(), Some(&b"v"[..]));
    // Another thread, another runtime: same data.
    let other = store.clone();
    let seen = std::thread::spawn(move || runtime().block_on(other.take("k")).unwrap())
        .join()
        .unwrap();
    assert_eq!(seen.as_deref(), Some(&b"v"[..]));
}

/// Redis away: an answer (503 upstream) within seconds, not the client's default back-off.
#[tokio::test(flavor = "multi_thread")]
async fn redis_that_is_away_fails_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let store =
        gpki_idp_store::RedisStore::connect(&format!("redis://127.0.0.1:{port}/"), "x:").await;
    assert!(matches!(store, Err(StoreError::Unavailable(_))));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_takes_give_the_value_once() {
    let redis = std::sync::Arc::new(testing::redis_store().await);
    redis
        .put("once", b"x", Duration::from_secs(60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let r = redis.clone();
            tokio::spawn(async move { r.take("once").await.unwrap() })
        })
        .collect();
    let mut got = 0;
    for t in tasks {
        got += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(got, 1);
}
