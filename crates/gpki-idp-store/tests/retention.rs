//! The audit log's retention on PostgreSQL and SQLite: events older than the cut go, oldest
//! first and a batch at a time; newer ones stay.

use gpki_idp_core::audit::{AuditEvent, AuditFilter};
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
