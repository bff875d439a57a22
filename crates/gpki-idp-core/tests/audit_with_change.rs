//! Issue 18 §3, a change and its audit in one transaction: a change whose audit cannot be
//! written is not kept (a card registration with its enrollment code, an account created or
//! changed, a step of a login), and a login's commit point is its database write, after its
//! short-lived writes, which are removed again when that commit fails; when the commit's
//! outcome is unknown, what is stored decides the answer. Each test runs on SQLite +
//! in-process state and on PostgreSQL + Redis.

#[macro_use]
mod common;

use common::{card, Harness, SessionCommit, BROWSER};
use gpki_idp_core::admin::users::{NewUserInput, UserPatch};
use gpki_idp_core::admin::GmPage;
use gpki_idp_core::code::Code;
use gpki_idp_core::login::{Outcome, Proof, Registration};
use gpki_idp_core::oidc::card::CardSignature;
use gpki_idp_core::policy::{Method, RegistrationRules, RolePolicy};

on_both_backends!(
    registration_is_not_kept_without_its_audit,
    enrollment_code_stays_unused_without_the_registrations_audit,
    account_changes_are_not_kept_without_their_audit,
    login_whose_commit_fails_leaves_nothing_behind,
    login_whose_audit_is_refused_leaves_nothing_behind,
    refused_login_is_audited_alone,
    login_whose_commit_committed_unseen_is_a_success,
    step_forward_that_cannot_be_audited_does_not_happen,
);

/// The session cookie of a password login of `username`.
async fn logged_in(h: &Harness, username: &str) -> String {
    match h.password_login(username).await.result {
        Ok(Outcome::Done(done)) => done.sid,
        other => panic!("the password login of {username} failed: {other:?}"),
    }
}

/// Registers a new card to the account of `sid`, with `code` when given.
async fn register(
    h: &Harness,
    sid: &str,
    code: Option<&str>,
) -> Result<gpki_idp_core::model::CertBinding, gpki_idp_core::error::Error> {
    let school = &h.school;
    let challenge = h
        .provider
        .registration_challenge(school, Some(sid), BROWSER, "192.0.2.10")
        .await
        .expect("registration challenge");
    let signature = card::sign(&card::card(0x5eed), &challenge);
    let card = CardSignature {
        signature: &signature,
        certificate: None,
    };
    let registration = Registration {
        browser: BROWSER,
        challenge: &challenge,
        card: &card,
        enrollment_code: code,
    };
    h.provider
        .register_certificate(school, Some(sid), &h.origin, &registration)
        .await
}

async fn teacher_bindings(h: &Harness) -> usize {
    let teacher = h
        .directory
        .user_by_username(h.school.id, "teacher")
        .await
        .unwrap()
        .unwrap();
    h.directory
        .bindings_of(h.school.id, teacher.id)
        .await
        .unwrap()
        .len()
}

async fn registration_is_not_kept_without_its_audit(h: Harness) {
    let sid = logged_in(&h, "teacher").await;
    h.refuse_audits();
    let refused = register(&h, &sid, None).await;
    assert!(
        refused.is_err(),
        "a registration without its audit: {refused:?}"
    );
    assert_eq!(
        teacher_bindings(&h).await,
        0,
        "the certificate stayed registered although its audit was refused"
    );
}

async fn enrollment_code_stays_unused_without_the_registrations_audit(h: Harness) {
    let rules = RegistrationRules {
        campus_cidrs: vec![],
        require_enrollment_code: true,
    };
    h.directory
        .set_registration_rules(h.school.id, rules)
        .await
        .unwrap();
    let teacher = h
        .directory
        .user_by_username(h.school.id, "teacher")
        .await
        .unwrap()
        .unwrap();
    let ttl = std::time::Duration::from_secs(3600);
    let (_, code) = h
        .provider
        .issue_enrollment_code(&h.school, &teacher, ttl)
        .await
        .unwrap();
    let sid = logged_in(&h, "teacher").await;
    h.refuse_audits();
    assert!(register(&h, &sid, Some(&code)).await.is_err());
    let codes = h
        .directory
        .list_enrollment_codes(h.school.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(codes.len(), 1);
    assert!(
        !codes[0].used,
        "the enrollment code was used up by a registration that did not happen"
    );
    assert_eq!(teacher_bindings(&h).await, 0);
}

async fn account_changes_are_not_kept_without_their_audit(h: Harness) {
    let sid = logged_in(&h, "gm").await;
    let gm = h
        .provider
        .page_principal(&h.school, Some(&sid), h.origin.clone(), GmPage::Security)
        .await
        .unwrap();
    h.refuse_audits();
    let new = NewUserInput {
        username: "t.new".into(),
        display_name: "新老師".into(),
        roles: vec!["teacher".into()],
        password: None,
        disabled: Some(true),
    };
    assert!(h
        .provider
        .admin_create_user(&gm, &h.school, new)
        .await
        .is_err());
    let created = h.directory.user_by_username(h.school.id, "t.new").await;
    assert!(
        created.unwrap().is_none(),
        "the account was created although its audit was refused"
    );
    let patch = UserPatch {
        display_name: Some("改過的名字".into()),
        ..UserPatch::default()
    };
    let changed = h
        .provider
        .admin_update_user(&gm, &h.school, "teacher", patch)
        .await;
    assert!(changed.is_err());
    let teacher = h.directory.user_by_username(h.school.id, "teacher").await;
    assert_eq!(
        teacher.unwrap().unwrap().display_name,
        "teacher of the demo",
        "the account was changed although its audit was refused"
    );
}

async fn login_whose_commit_fails_leaves_nothing_behind(h: Harness) {
    h.faults.session_commit(SessionCommit::Fails);
    let concluded = h.password_login("teacher").await;
    let refusal = concluded.result.expect_err("the login's commit failed");
    assert_eq!(refusal.error.code, Code::TemporarilyUnavailable);
    assert_ne!(concluded.outcome, "success");
    assert_eq!(
        h.live_keys("sess:").await,
        Vec::<String>::new(),
        "a session"
    );
    assert_eq!(h.live_keys("code:").await, Vec::<String>::new(), "a code");
    assert_eq!(h.stored_sessions().await, 0);
    let successes = h.events_of("login.password", "success").await;
    assert!(successes.is_empty(), "a success was audited: {successes:?}");
}

async fn login_whose_audit_is_refused_leaves_nothing_behind(h: Harness) {
    h.refuse_audits();
    let concluded = h.password_login("teacher").await;
    assert!(concluded.result.is_err(), "a login without its audit");
    assert_eq!(
        h.live_keys("sess:").await,
        Vec::<String>::new(),
        "a session"
    );
    assert_eq!(h.live_keys("code:").await, Vec::<String>::new(), "a code");
    assert_eq!(h.stored_sessions().await, 0);
}

async fn refused_login_is_audited_alone(h: Harness) {
    let request_id = h.pending_login().await;
    let proof = Proof::Password {
        username: "teacher",
        password: "not the password",
    };
    let concluded = h.provider.log_in(&h.attempt(&request_id), proof).await;
    assert_eq!(concluded.outcome, "invalid_credentials");
    let refusals = h.events_of("login.password", "invalid_credentials").await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].subject_user.as_deref(), Some("teacher"));
    assert_eq!(h.stored_sessions().await, 0);
    assert_eq!(h.live_keys("sess:").await, Vec::<String>::new());
}

async fn login_whose_commit_committed_unseen_is_a_success(h: Harness) {
    h.faults.session_commit(SessionCommit::FailsAfterCommit);
    let concluded = h.password_login("teacher").await;
    let done = match concluded.result {
        Ok(Outcome::Done(done)) => done,
        other => panic!("the stored login was answered {other:?}"),
    };
    assert_eq!(concluded.outcome, "success");
    assert!(done.url.contains("code="), "{}", done.url);
    let session = h.provider.session(&h.school, &done.sid).await.unwrap();
    assert!(session.is_some(), "the browser's session is usable");
    assert_eq!(h.stored_sessions().await, 1);
    assert_eq!(h.events_of("login.password", "success").await.len(), 1);
}

async fn step_forward_that_cannot_be_audited_does_not_happen(h: Harness) {
    let both = RolePolicy {
        role: "teacher".into(),
        methods: vec![Method::PasswordAndCertificate],
    };
    h.directory
        .replace_policy(h.school.id, vec![both])
        .await
        .unwrap();
    let request_id = h.pending_login().await;
    h.refuse_audits();
    let proof = Proof::Password {
        username: "teacher",
        password: common::PASSWORD,
    };
    let concluded = h.provider.log_in(&h.attempt(&request_id), proof).await;
    assert!(
        concluded.result.is_err(),
        "an unaudited step forward: {:?}",
        concluded.result
    );
    let pending = h.provider.pending_request(&h.school, &request_id).await;
    if let Ok(request) = pending {
        assert!(
            request.partial.is_none(),
            "the pending request kept the unaudited password step"
        );
    }
}
