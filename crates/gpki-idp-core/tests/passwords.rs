//! Issue 19, passwords in the login transaction without HTTP: a password set by someone else
//! is changed at the next password login before any session or code exists, from the browser
//! that proved it only; the change and its audit event are one transaction. Each test runs
//! on SQLite + in-process state and on PostgreSQL + Redis.

#[macro_use]
mod common;

use common::Harness;
use gpki_idp_core::admin::users::UserPatch;
use gpki_idp_core::admin::Principal;
use gpki_idp_core::code::Code;
use gpki_idp_core::login::{Attempt, Concluded, Outcome, Proof};

on_both_backends!(
    a_password_set_by_someone_else_is_changed_before_the_code,
    a_change_that_cannot_be_audited_is_not_kept,
);

const TEMPORARY: &str = "Temp-pass-4821";
const CHOSEN: &str = "river-lantern-58-quiet";

/// The operator sets the teacher's password: temporary.
async fn set_by_operator(h: &Harness) {
    let who = Principal::operator(h.origin.clone());
    let patch = UserPatch {
        password: Some(Some(TEMPORARY.into())),
        ..UserPatch::default()
    };
    let view = h
        .provider
        .admin_update_user(&who, &h.school, "teacher", patch)
        .await
        .expect("set");
    assert_eq!(view["password_must_change"], true);
}

async fn log_in(h: &Harness, request_id: &str, password: &str) -> Concluded {
    let proof = Proof::Password {
        username: "teacher",
        password,
    };
    h.provider.log_in(&h.attempt(request_id), proof).await
}

fn code(concluded: &Concluded) -> Option<Code> {
    concluded.result.as_ref().err().map(|r| r.error.code)
}

async fn a_password_set_by_someone_else_is_changed_before_the_code(h: Harness) {
    set_by_operator(&h).await;
    let request_id = h.pending_login().await;
    let at_step = log_in(&h, &request_id, TEMPORARY).await;
    assert!(
        matches!(at_step.result, Ok(Outcome::ChangePassword(_))),
        "{at_step:?}"
    );
    assert!(h.live_keys("code:").await.is_empty(), "no code");
    assert_eq!(h.stored_sessions().await, 0, "no session");

    // Another browser with the request's id cannot set the password.
    let stranger = Attempt {
        browser: "another-browser",
        ..h.attempt(&request_id)
    };
    let stolen = h
        .provider
        .change_password_at_login(&stranger, CHOSEN, CHOSEN)
        .await;
    assert_eq!(code(&stolen), Some(Code::LoginExpired));
    let mismatch = h
        .provider
        .change_password_at_login(&h.attempt(&request_id), CHOSEN, "other-password-5")
        .await;
    assert_eq!(code(&mismatch), Some(Code::PasswordMismatch));
    assert_eq!(h.stored_sessions().await, 0);

    let done = h
        .provider
        .change_password_at_login(&h.attempt(&request_id), CHOSEN, CHOSEN)
        .await;
    assert!(matches!(done.result, Ok(Outcome::Done(_))), "{done:?}");
    assert_eq!(h.stored_sessions().await, 1);
    assert_eq!(h.live_keys("code:").await.len(), 1);
    let changed = h.events_of("user.password_changed", "success").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].detail["reason"], "temporary");
    let user = h
        .directory
        .user_by_username(h.school.id, "teacher")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.password_must_change);

    // The old password no longer works; the new one completes at once.
    let old = log_in(&h, &h.pending_login().await, TEMPORARY).await;
    assert_eq!(code(&old), Some(Code::InvalidCredentials));
    let new = log_in(&h, &h.pending_login().await, CHOSEN).await;
    assert!(matches!(new.result, Ok(Outcome::Done(_))), "{new:?}");
}

async fn a_change_that_cannot_be_audited_is_not_kept(h: Harness) {
    set_by_operator(&h).await;
    let request_id = h.pending_login().await;
    let at_step = log_in(&h, &request_id, TEMPORARY).await;
    assert!(matches!(at_step.result, Ok(Outcome::ChangePassword(_))));
    h.refuse_audits();
    let refused = h
        .provider
        .change_password_at_login(&h.attempt(&request_id), CHOSEN, CHOSEN)
        .await;
    assert!(refused.result.is_err(), "{refused:?}");
    let user = h
        .directory
        .user_by_username(h.school.id, "teacher")
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_must_change, "still the temporary password");
    assert_eq!(h.stored_sessions().await, 0);
    assert!(h.live_keys("code:").await.is_empty());
}
