//! A session's end and the logout-token queue, on PostgreSQL and on SQLite, with two
//! directories on one database standing for two replicas: a session ended queues one
//! message per client that got a token in it and wants to be told, in the same write; a
//! message is claimed by one replica at a time, given back for a retry, and removed with its
//! audit event. A card unbound ends the sessions opened with it (and their refresh tokens),
//! an account disabled ends all of its own, each with a `session.end` event.

use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::model::{
    CertBinding, NewClient, NewRegistration, NewUser, RefreshRecord, School, SessionRecord, User,
    UserChange,
};
use gpki_idp_core::store::Directory;
use gpki_idp_store::testing::{directory_at, fresh_postgres_url, fresh_sqlite_url};

fn audit<T: ?Sized>(school: &School, event: &str) -> Audit<T> {
    Audit::event(AuditEvent::new(school.id, event, "success", "test"))
}

fn session(user: &User, id: &str, cert: Option<&str>) -> SessionRecord {
    SessionRecord {
        id: id.repeat(64),
        school_id: user.school_id,
        user_id: user.id,
        acr: "urn:gpki-idp:acr:password".into(),
        amr: vec!["pwd".into()],
        auth_time: 1,
        expires_at: i64::MAX / 2,
        cert_sha256: cert.map(|c| c.repeat(32)),
        ip: Some("192.0.2.1".into()),
        ..Default::default()
    }
}

fn refresh(user: &User, hash: &str, session_id: Option<String>) -> RefreshRecord {
    RefreshRecord {
        token_hash: hash.into(),
        family_id: format!("family-{hash}"),
        school_id: user.school_id,
        client_id: "portal".into(),
        user_id: user.id,
        scope: "openid offline_access".into(),
        auth_time: 1,
        acr: "urn:gpki-idp:acr:password".into(),
        amr: vec!["pwd".into()],
        created_at: 1,
        expires_at: i64::MAX / 2,
        used: false,
        revoked: false,
        session_id,
    }
}

async fn revoked(dir: &dyn Directory, user: &User, hash: &str) -> bool {
    let r = dir.refresh_by_hash(user.school_id, hash).await.unwrap();
    r.unwrap().revoked
}

async fn events(dir: &dyn Directory, school: &School, name: &str) -> Vec<AuditEvent> {
    let all = dir.query_audit(school.id, AuditFilter::default(), 0, 1000);
    all.await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.event == name)
        .collect()
}

/// A school, a teacher, a portal told of logouts and one that is not.
async fn setup(dir: &dyn Directory) -> (School, User) {
    let school = dir.create_school("alpha", "甲國小").await.unwrap();
    let user = dir
        .create_user(NewUser {
            school_id: school.id,
            username: "t001".into(),
            display_name: "王老師".into(),
            password_hash: None,
            password_must_change: false,
            roles: vec!["teacher".into()],
        })
        .await
        .unwrap();
    for (id, uri) in [
        ("portal", Some("https://portal.example/bc")),
        ("quiet", None),
    ] {
        let client = NewClient {
            school_id: school.id,
            client_id: id.into(),
            name: id.into(),
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
            backchannel_logout_uri: uri.map(str::to_string),
            backchannel_logout_session_required: false,
        };
        dir.create_client(client).await.unwrap();
    }
    (school, user)
}

async fn one_sender_per_message(a: &dyn Directory, b: &dyn Directory) {
    let (school, user) = setup(a).await;
    a.add_session(session(&user, "a", None), audit(&school, "test.login"))
        .await
        .unwrap();
    let id = "a".repeat(64);
    for client in ["portal", "quiet", "portal"] {
        assert!(a.add_session_client(school.id, &id, client).await.unwrap());
    }
    let listed = b.session_by_id(school.id, &id).await.unwrap().unwrap();
    assert_eq!(listed.clients, ["portal", "quiet"]);
    assert_eq!(listed.ip.as_deref(), Some("192.0.2.1"));
    let ended = a.revoke_session(school.id, &id, audit(&school, "test.end"));
    assert!(ended.await.unwrap().is_some());
    assert!(
        !b.add_session_client(school.id, &id, "portal")
            .await
            .unwrap(),
        "an ended session takes no more clients"
    );
    let queue = b.logout_queue().await.unwrap();
    assert_eq!(
        queue.pending, 1,
        "one message, for the portal told of logouts"
    );
    // Ending it again queues nothing more.
    a.revoke_session(school.id, &id, audit(&school, "test.end"))
        .await
        .unwrap();
    assert_eq!(a.logout_queue().await.unwrap().pending, 1);

    // Two replicas claim at once: one gets it.
    let until = gpki_idp_core::now() + 60;
    let (x, y) = tokio::join!(a.claim_logouts(until, 10), b.claim_logouts(until, 10));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.len() + y.len(), 1, "{x:?} {y:?}");
    let m = x.into_iter().chain(y).next().unwrap();
    assert_eq!(
        (m.client_id.as_str(), m.session_id.as_str()),
        ("portal", id.as_str())
    );
    assert_eq!(m.uri, "https://portal.example/bc");
    assert_eq!(m.attempts, 0);
    assert!(!m.subject.is_empty());
    assert!(b.claim_logouts(until, 10).await.unwrap().is_empty(), "held");

    // Given back for a retry now, it is claimed again, its failure counted.
    let now = gpki_idp_core::now();
    b.retry_logout_message(m.id, now, "HTTP 500".into())
        .await
        .unwrap();
    let again = a.claim_logouts(now + 60, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    // Delivered: removed with its event.
    let done = audit(&school, "logout.token_sent");
    assert!(b.finish_logout_message(m.id, done).await.unwrap());
    assert_eq!(a.logout_queue().await.unwrap().pending, 0);
    assert_eq!(events(a, &school, "logout.token_sent").await.len(), 1);
}

async fn card_and_account_end_their_sessions(dir: &dyn Directory, _: &dyn Directory) {
    let (school, user) = setup(dir).await;
    // "c": opened with the card; "p": with the password only.
    for (id, cert) in [("c", Some("ab")), ("p", None)] {
        let s = session(&user, id, cert);
        dir.add_session(s, audit(&school, "test.login"))
            .await
            .unwrap();
        let sid = id.repeat(64);
        assert!(dir
            .add_session_client(school.id, &sid, "portal")
            .await
            .unwrap());
        dir.insert_refresh(refresh(&user, id, Some(sid)))
            .await
            .unwrap();
    }
    dir.insert_refresh(refresh(&user, "loose", None))
        .await
        .unwrap();
    let registration = NewRegistration {
        binding: CertBinding {
            id: 0,
            school_id: school.id,
            user_id: user.id,
            cert_sha256: "ab".repeat(32),
            serial_hex: "01".into(),
            issuer_dn: "CN=MOICA".into(),
            subject_cn: "王老師".into(),
            not_after: "2033-05-18T03:33:20Z".into(),
        },
        enrollment_code: None,
        at: 0,
    };
    let bound = dir.register_certificate(registration, audit(&school, "test.register"));
    let bound = bound.await.unwrap().unwrap();

    // The card unbound: its session and the refresh token issued in it end, nothing else.
    let removed = dir.remove_binding(
        school.id,
        user.id,
        bound.id,
        audit(&school, "certificate.remove"),
    );
    assert!(removed.await.unwrap());
    let c = dir.session_by_id(school.id, &"c".repeat(64)).await.unwrap();
    let p = dir.session_by_id(school.id, &"p".repeat(64)).await.unwrap();
    assert!(c.unwrap().revoked && !p.unwrap().revoked);
    assert!(revoked(dir, &user, "c").await);
    assert!(!revoked(dir, &user, "p").await && !revoked(dir, &user, "loose").await);
    assert_eq!(dir.logout_queue().await.unwrap().pending, 1);
    let ended = events(dir, &school, "session.end").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].actor, "test", "by the actor of the change");
    assert_eq!(ended[0].detail["reason"], "certificate.remove");

    // The account disabled: every session and refresh token of it.
    let change = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    let disabled = dir.update_user(school.id, user.id, change, audit(&school, "user.update"));
    assert!(disabled.await.unwrap().unwrap().disabled);
    let p = dir.session_by_id(school.id, &"p".repeat(64)).await.unwrap();
    assert!(p.unwrap().revoked);
    assert!(revoked(dir, &user, "p").await && revoked(dir, &user, "loose").await);
    assert_eq!(dir.logout_queue().await.unwrap().pending, 2);
    let ended = events(dir, &school, "session.end").await;
    assert_eq!(ended.len(), 2, "one more: the password session");
    assert_eq!(ended[1].detail["reason"], "user.disabled");
}

/// Runs the check `$name` with two directories on one PostgreSQL and on one SQLite database.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let url = super::fresh_sqlite_url();
                let (a, b) = (super::directory_at(&url).await, super::directory_at(&url).await);
                super::$name(&a, &b).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let url = super::fresh_postgres_url();
                let (a, b) = (super::directory_at(&url).await, super::directory_at(&url).await);
                super::$name(&a, &b).await;
            }
        }
    )*};
}

on_both_databases!(one_sender_per_message, card_and_account_end_their_sessions);
