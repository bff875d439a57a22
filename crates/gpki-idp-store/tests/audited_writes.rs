//! Every audited write of the directory stores its change and its audit events in one
//! transaction, on PostgreSQL and on SQLite. An event the database refuses (here: one naming
//! a school that does not exist, which breaks the audit log's foreign key) leaves the change
//! unwritten; a write that changes nothing writes no event; the events made from a write's
//! outcome see what it wrote.

use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::model::{
    CertBinding, Client, NewClient, NewRegistration, NewSchool, NewUser, School, SessionRecord,
    User, UserChange,
};
use gpki_idp_core::policy::{Method, RegistrationRules, RolePolicy};
use gpki_idp_core::store::Directory;

/// A school id no school has.
const NO_SCHOOL: i64 = 9_999_999;

/// An audit the database refuses.
fn refused<T: ?Sized>() -> Audit<T> {
    Audit::event(AuditEvent::new(
        NO_SCHOOL,
        "test.refused",
        "success",
        "test",
    ))
}

/// An audit of `event` at `school`.
fn audit<T: ?Sized>(school: &School, event: &str) -> Audit<T> {
    Audit::event(AuditEvent::new(school.id, event, "success", "test"))
}

/// The `test.*` events of the school, by name, oldest first.
async fn test_events(dir: &dyn Directory, school: &School) -> Vec<String> {
    let all = dir.query_audit(school.id, AuditFilter::default(), 0, 1000);
    let all = all.await.unwrap();
    all.into_iter()
        .map(|(_, e)| e.event)
        .filter(|e| e.starts_with("test."))
        .collect()
}

fn new_user(school: &School, username: &str) -> NewUser {
    NewUser {
        school_id: school.id,
        username: username.into(),
        display_name: "王老師".into(),
        password_hash: None,
        roles: vec!["teacher".into()],
        password_must_change: false,
    }
}

fn new_client(school: &School, client_id: &str) -> NewClient {
    NewClient {
        school_id: school.id,
        client_id: client_id.into(),
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
    }
}

fn binding(user: &User, fingerprint: &str) -> CertBinding {
    CertBinding {
        id: 0,
        school_id: user.school_id,
        user_id: user.id,
        cert_sha256: fingerprint.repeat(32),
        serial_hex: "01".into(),
        issuer_dn: "CN=MOICA".into(),
        subject_cn: "王老師".into(),
        not_after: "2033-05-18T03:33:20Z".into(),
    }
}

fn session(user: &User, id: &str) -> SessionRecord {
    SessionRecord {
        id: id.repeat(64),
        school_id: user.school_id,
        user_id: user.id,
        username: String::new(),
        acr: "urn:gpki-idp:acr:password".into(),
        amr: vec!["pwd".into()],
        auth_time: 1,
        expires_at: i64::MAX / 2,
        ..Default::default()
    }
}

fn rename(name: &str) -> UserChange {
    UserChange {
        display_name: Some(name.into()),
        ..UserChange::default()
    }
}

/// A school with an account, each of the kinds a refused write could touch, and an
/// enrollment code of the account.
async fn setup(dir: &dyn Directory) -> (School, User, String) {
    let school = dir.create_school("alpha", "甲國小").await.unwrap();
    let user = dir.create_user(new_user(&school, "t001")).await.unwrap();
    dir.add_role(school.id, "coach", audit(&school, "test.role"))
        .await
        .unwrap();
    dir.create_client(new_client(&school, "portal"))
        .await
        .unwrap();
    let registration = NewRegistration {
        binding: binding(&user, "ab"),
        enrollment_code: None,
        at: 0,
    };
    dir.register_certificate(registration, audit(&school, "test.register"))
        .await
        .unwrap();
    dir.add_session(session(&user, "a"), audit(&school, "test.login"))
        .await
        .unwrap();
    let code = "c".repeat(64);
    let code_audit = audit(&school, "test.code");
    dir.add_enrollment_code(school.id, user.id, &code, i64::MAX / 2, code_audit)
        .await
        .unwrap();
    (school, user, code)
}

async fn refused_audits_keep_nothing(dir: &dyn Directory) {
    let (school, user, code) = setup(dir).await;
    let before = test_events(dir, &school).await;
    let s = school.id;

    // Accounts and roles.
    assert!(dir
        .add_user(new_user(&school, "t002"), false, refused())
        .await
        .is_err());
    assert!(dir.user_by_username(s, "t002").await.unwrap().is_none());
    assert!(dir
        .update_user(s, user.id, rename("X"), refused())
        .await
        .is_err());
    let import = dir.import_users(
        vec![new_user(&school, "t003")],
        vec![(user.id, rename("Y"))],
        refused(),
    );
    assert!(import.await.is_err());
    assert!(dir.user_by_username(s, "t003").await.unwrap().is_none());
    let unchanged = dir.user_by_id(s, user.id).await.unwrap().unwrap();
    assert_eq!(unchanged.display_name, "王老師");
    assert!(dir.add_role(s, "judge", refused()).await.is_err());
    assert!(dir.remove_role(s, "coach", refused()).await.is_err());
    assert_eq!(dir.custom_roles(s).await.unwrap(), ["coach"]);

    // Schools and their look.
    let other = NewSchool {
        code: "beta".into(),
        name: "乙國中".into(),
        district: false,
        keys: vec![],
        users: vec![new_user(&school, "gm")],
    };
    assert!(dir.create_schools(vec![other], refused()).await.is_err());
    assert!(dir.school_by_code("beta").await.unwrap().is_none());
    let renamed = dir.change_school(s, Some("改名".into()), Some(true), None, refused());
    assert!(renamed.await.is_err());
    let still = dir.school_by_id(s).await.unwrap().unwrap();
    assert_eq!((still.name.as_str(), still.disabled), ("甲國小", false));
    assert!(dir
        .set_brand_colour(s, Some("#1f4e8c".into()), refused())
        .await
        .is_err());
    let logo = Some(("image/png".to_string(), vec![0x89, b'P']));
    assert!(dir.set_logo(s, logo, refused()).await.is_err());
    assert_eq!(dir.branding(s).await.unwrap(), Default::default());

    // Bindings and registration.
    let with_code = NewRegistration {
        binding: binding(&user, "cd"),
        enrollment_code: Some(code.clone()),
        at: 1,
    };
    assert!(dir
        .register_certificate(with_code, refused())
        .await
        .is_err());
    let bound = dir.bindings_of(s, user.id).await.unwrap();
    assert_eq!(bound.len(), 1, "only the setup's binding");
    let codes = dir.list_enrollment_codes(s, 0, 10).await.unwrap();
    assert!(!codes[0].used, "the code stays unused");
    assert!(dir
        .remove_binding(s, user.id, bound[0].id, refused())
        .await
        .is_err());
    assert!(dir
        .remove_binding_by_id(s, bound[0].id, refused())
        .await
        .is_err());
    assert_eq!(dir.bindings_of(s, user.id).await.unwrap().len(), 1);
    assert!(dir
        .add_enrollment_code(s, user.id, "d", 9, refused())
        .await
        .is_err());
    assert!(dir
        .revoke_enrollment_code(s, codes[0].id, refused())
        .await
        .is_err());
    assert_eq!(dir.list_enrollment_codes(s, 0, 10).await.unwrap().len(), 1);
    let rules = RegistrationRules {
        campus_cidrs: vec!["10.0.0.0/8".into()],
        require_enrollment_code: true,
    };
    assert!(dir.set_registration(s, rules, refused()).await.is_err());
    assert_eq!(dir.registration_rules(s).await.unwrap(), Default::default());

    // Clients, keys, policy.
    assert!(dir
        .add_client(new_client(&school, "other"), refused())
        .await
        .is_err());
    assert!(dir.client(s, "other").await.unwrap().is_none());
    let mut portal = dir.client(s, "portal").await.unwrap().unwrap();
    portal.name = "改名".into();
    assert!(dir.change_client(portal, refused()).await.is_err());
    assert!(dir.delete_client(s, "portal", refused()).await.is_err());
    let portal: Client = dir.client(s, "portal").await.unwrap().unwrap();
    assert_eq!(portal.name, "校務系統");
    let key = gpki_idp_core::keys::SigningKey::generate(gpki_idp_core::keys::Alg::Es256).unwrap();
    assert!(dir
        .add_signing_keys(s, vec![key], Some(5), refused())
        .await
        .is_err());
    assert!(dir.signing_keys(s).await.unwrap().is_empty());
    let policy = vec![RolePolicy {
        role: "teacher".into(),
        methods: vec![Method::Certificate],
    }];
    assert!(dir.set_login_policy(s, policy, refused()).await.is_err());
    assert!(dir.login_policy(s).await.unwrap().is_empty());

    // Sessions: a login's commit, an admin's end.
    assert!(dir
        .add_session(session(&user, "b"), refused())
        .await
        .is_err());
    assert!(dir
        .session_by_id(s, &"b".repeat(64))
        .await
        .unwrap()
        .is_none());
    assert!(dir
        .revoke_session(s, &"a".repeat(64), refused())
        .await
        .is_err());
    let live = dir
        .list_sessions(s, None, String::new(), 10, 2)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "the session was not ended");

    assert_eq!(test_events(dir, &school).await, before, "no event either");
}

async fn writes_that_change_nothing_write_no_event(dir: &dyn Directory) {
    let (school, user, code) = setup(dir).await;
    let before = test_events(dir, &school).await;
    let s = school.id;
    let missing = dir.update_user(s, 404, rename("X"), audit(&school, "test.no"));
    assert!(missing.await.unwrap().is_none());
    assert!(!dir
        .add_role(s, "coach", audit(&school, "test.no"))
        .await
        .unwrap());
    assert!(!dir
        .remove_role(s, "nobody", audit(&school, "test.no"))
        .await
        .unwrap());
    assert!(!dir
        .remove_binding(s, user.id, 404, audit(&school, "test.no"))
        .await
        .unwrap());
    let removed = dir.remove_binding_by_id(s, 404, audit(&school, "test.no"));
    assert!(removed.await.unwrap().is_none());
    let mut ghost = dir.client(s, "portal").await.unwrap().unwrap();
    ghost.client_id = "ghost".into();
    assert!(!dir
        .change_client(ghost, audit(&school, "test.no"))
        .await
        .unwrap());
    assert!(!dir
        .delete_client(s, "ghost", audit(&school, "test.no"))
        .await
        .unwrap());
    assert!(!dir
        .revoke_enrollment_code(s, 404, audit(&school, "test.no"))
        .await
        .unwrap());
    let unknown = "f".repeat(64);
    let ended = dir.revoke_session(s, &unknown, audit(&school, "test.no"));
    assert!(ended.await.unwrap().is_none());
    // A code of another account is not valid: nothing is written, not the binding either.
    let other = dir.create_user(new_user(&school, "t009")).await.unwrap();
    let stolen = NewRegistration {
        binding: binding(&other, "ef"),
        enrollment_code: Some(code),
        at: 1,
    };
    let registered = dir.register_certificate(stolen, audit(&school, "test.no"));
    assert!(registered.await.unwrap().is_none());
    assert!(dir.bindings_of(s, other.id).await.unwrap().is_empty());
    assert_eq!(test_events(dir, &school).await, before);
}

async fn events_see_what_the_write_wrote(dir: &dyn Directory) {
    let (school, user, _) = setup(dir).await;
    let named = Audit::of(|u: &User| {
        let mut e = AuditEvent::new(u.school_id, "test.user", "success", "test");
        e.detail = serde_json::json!({"subject": u.subject, "disabled": u.disabled});
        e
    });
    let made = dir
        .add_user(new_user(&school, "t010"), true, named)
        .await
        .unwrap();
    assert!(made.disabled, "created disabled");
    let new_school = NewSchool {
        code: "gamma".into(),
        name: "丙國小".into(),
        district: true,
        keys: vec![],
        users: vec![],
    };
    let each = Audit::each(|made: &Vec<School>| {
        let at = |s: &School| AuditEvent::new(s.id, "test.school", "success", "test");
        made.iter().map(at).collect()
    });
    let gamma = dir.create_schools(vec![new_school], each).await.unwrap();
    assert!(gamma[0].district);
    let ended = Audit::of(|s: &SessionRecord| {
        let mut e = AuditEvent::new(s.school_id, "test.ended", "success", "test");
        e.subject_user = Some(s.username.clone());
        e
    });
    dir.revoke_session(school.id, &"a".repeat(64), ended)
        .await
        .unwrap();
    let log = dir.audit_events(school.id, 0, 1000).await.unwrap();
    let user_event = log.iter().find(|e| e.event == "test.user").unwrap();
    assert_eq!(user_event.detail["subject"], made.subject.as_str());
    let ended = log.iter().find(|e| e.event == "test.ended").unwrap();
    assert_eq!(ended.subject_user.as_deref(), Some(user.username.as_str()));
    let in_gamma = dir.audit_events(gamma[0].id, 0, 10).await.unwrap();
    assert_eq!(in_gamma.len(), 1, "recorded in the new school's log");
}

/// Runs the check `$name` on PostgreSQL and on SQLite.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name(&gpki_idp_store::testing::sqlite_directory().await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name(&gpki_idp_store::testing::postgres_directory().await).await;
            }
        }
    )*};
}

on_both_databases!(
    refused_audits_keep_nothing,
    writes_that_change_nothing_write_no_event,
    events_see_what_the_write_wrote,
);
