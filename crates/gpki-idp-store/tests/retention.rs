//! The audit log's retention on PostgreSQL and SQLite: events older than the cut go, oldest
//! first and a batch at a time; newer ones stay. Sessions expired before the cut go the same
//! way, ended or not, with the portals recorded in them; the others stay with theirs.

use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::model::{NewUser, SessionRecord};
use gpki_idp_core::store::Directory;
use gpki_idp_store::testing;

async fn oldest_go_first(dir: &dyn Directory) {
    let school = dir.create_school("alpha", "甲國小").await.unwrap();
    for at in [100, 200, 300, 400, 500] {
        let mut e = AuditEvent::new(school.id, "login.password", "success", "t");
        e.at = at;
        dir.append_audit(e).await.unwrap();
    }
    assert_eq!(dir.prune_audit(450, 2).await.unwrap(), 2, "a batch");
    assert_eq!(
        dir.prune_audit(450, 10).await.unwrap(),
        2,
        "the rest before the cut"
    );
    assert_eq!(dir.prune_audit(450, 10).await.unwrap(), 0);
    // The school's own creation (now) is in its log too: only the logins are looked at.
    let logins = AuditFilter {
        event: Some("login.password".into()),
        ..AuditFilter::default()
    };
    let left = dir.query_audit(school.id, logins, 0, 10).await.unwrap();
    assert_eq!(left.iter().map(|(_, e)| e.at).collect::<Vec<_>>(), [500]);
}

#[tokio::test]
async fn audit_retention_on_sqlite_and_postgres() {
    oldest_go_first(&testing::sqlite_directory().await).await;
    oldest_go_first(&testing::postgres_directory().await).await;
}

async fn expired_sessions_go_with_their_portals(url: &str) {
    let dir = &testing::directory_at(url).await;
    let school = dir.create_school("beta", "乙國小").await.unwrap();
    let user = dir
        .create_user(NewUser {
            school_id: school.id,
            username: "t".into(),
            display_name: "T".into(),
            password_hash: None,
            roles: vec!["teacher".into()],
            password_must_change: false,
        })
        .await
        .unwrap();
    let now = gpki_idp_core::now();
    // (id's digit, expires_at): three expired before the cut, one after it, one live.
    let plan = [
        ("1", 100),
        ("2", 200),
        ("3", 300),
        ("4", now - 10),
        ("5", now + 3600),
    ];
    for (digit, expires_at) in plan {
        let s = SessionRecord {
            id: digit.repeat(64),
            school_id: school.id,
            user_id: user.id,
            acr: "urn:gpki-idp:acr:password".into(),
            amr: vec!["pwd".into()],
            auth_time: 1,
            // Recorded live (a portal is only recorded in a live session), then expired.
            expires_at: now + 3600,
            ..Default::default()
        };
        dir.add_session(
            s.clone(),
            Audit::event(AuditEvent::new(school.id, "login.password", "success", "t")),
        )
        .await
        .unwrap();
        assert!(dir
            .add_session_client(school.id, &s.id, "portal")
            .await
            .unwrap());
        let aged = format!(
            "UPDATE sessions SET expires_at = {expires_at} WHERE id = '{}'",
            s.id
        );
        testing::run_sql(url, &aged);
    }
    // One of the old ones was ended before it expired: it goes too.
    let audit = Audit::event(AuditEvent::new(school.id, "session.end", "success", "t"));
    assert!(dir
        .revoke_session(school.id, &"2".repeat(64), audit)
        .await
        .unwrap()
        .is_some());
    let cut = now - 1000;
    assert_eq!(dir.prune_sessions(cut, 2).await.unwrap(), 2, "a batch");
    assert_eq!(dir.prune_sessions(cut, 10).await.unwrap(), 1, "the rest");
    assert_eq!(dir.prune_sessions(cut, 10).await.unwrap(), 0);
    for (digit, expires_at) in plan {
        let id = digit.repeat(64);
        let kept = dir.session_by_id(school.id, &id).await.unwrap();
        assert_eq!(kept.is_some(), expires_at >= cut, "session {digit}");
        let portals = testing::count_rows(url, "session_clients", &format!("session_id = '{id}'"));
        assert_eq!(
            portals,
            i64::from(expires_at >= cut),
            "the portals of {digit}"
        );
    }
}

#[tokio::test]
async fn session_pruning_on_sqlite_and_postgres() {
    expired_sessions_go_with_their_portals(&testing::fresh_sqlite_url()).await;
    expired_sessions_go_with_their_portals(&testing::fresh_postgres_url()).await;
}
