//! Issue 18 §6, the login transaction without HTTP: a login concludes once per pending
//! request; a card's challenge answers only its own request, browser and purpose, once; the
//! school's policy is asked after any proof; a step-up asks for the card and counts the
//! password already proved; attempts refused before any check are not audited. Each test runs
//! on SQLite + in-process state and on PostgreSQL + Redis.

#[macro_use]
mod common;

use common::{card, Harness, BROWSER};
use gpki_idp_core::code::{Code, Notice};
use gpki_idp_core::factor::{Factor, ACR_PASSWORD_CERTIFICATE};
use gpki_idp_core::login::{Attempt, Outcome, Proof};
use gpki_idp_core::oidc::card::{CardSignature, ChallengePurpose};
use gpki_idp_core::policy::{Method, RolePolicy};

on_both_backends!(
    a_login_concludes_once_per_pending_request,
    a_challenge_answers_only_its_request_browser_and_purpose_once,
    the_policy_is_asked_after_any_proof,
    a_step_up_asks_for_the_card_and_keeps_the_password,
    a_forged_or_foreign_request_id_is_gone,
    attempts_refused_before_any_check_are_not_audited,
);

fn refusal_code(outcome: &gpki_idp_core::login::Concluded) -> Code {
    match &outcome.result {
        Err(refusal) => refusal.error.code,
        Ok(other) => panic!("expected a refusal, got {other:?}"),
    }
}

/// The test's card: made once (a leaf made again has other validity times, so another
/// fingerprint).
fn teacher_card() -> &'static gpki_testpki::Leaf {
    static CARD: std::sync::OnceLock<gpki_testpki::Leaf> = std::sync::OnceLock::new();
    CARD.get_or_init(|| card::card(0x10))
}

/// A card login at `request_id` by the test's browser, the card signing `challenge`.
async fn card_login(
    h: &Harness,
    request_id: &str,
    challenge: &str,
) -> gpki_idp_core::login::Concluded {
    let signature = card::sign(teacher_card(), challenge);
    let proof = Proof::Card {
        username: "",
        challenge,
        signature: CardSignature {
            signature: &signature,
            certificate: None,
        },
    };
    h.provider.log_in(&h.attempt(request_id), proof).await
}

async fn login_challenge(h: &Harness, browser: &str, request_id: &str) -> String {
    let purpose = ChallengePurpose::Login { request_id };
    h.provider
        .card_challenge(&h.school, browser, purpose, "192.0.2.10")
        .await
        .expect("a challenge")
}

/// Binds the test card to the teacher, as the teacher's own registration would.
async fn bind_teacher_card(h: &Harness) {
    let sid = match h.password_login("teacher").await.result {
        Ok(Outcome::Done(done)) => done.sid,
        other => panic!("{other:?}"),
    };
    let challenge = h
        .provider
        .registration_challenge(&h.school, Some(&sid), BROWSER, "192.0.2.10")
        .await
        .unwrap();
    let signature = card::sign(teacher_card(), &challenge);
    let card = CardSignature {
        signature: &signature,
        certificate: None,
    };
    let registration = gpki_idp_core::login::Registration {
        browser: BROWSER,
        challenge: &challenge,
        card: &card,
        // The test card's holder is not "teacher of the demo": the GM's code is the way.
        enrollment_code: Some(&issue_code(h).await),
    };
    h.provider
        .register_certificate(&h.school, Some(&sid), &h.origin, &registration)
        .await
        .expect("registered");
}

async fn issue_code(h: &Harness) -> String {
    let operator = gpki_idp_core::admin::Principal::operator(h.origin.clone());
    let input = gpki_idp_core::admin::certificates::CodeInput { hours: 1 };
    h.provider
        .admin_issue_code(&operator, &h.school, "teacher", &input)
        .await
        .expect("an enrollment code")
        .code
}

async fn a_login_concludes_once_per_pending_request(h: Harness) {
    let request_id = h.pending_login().await;
    let proof = || Proof::Password {
        username: "teacher",
        password: common::PASSWORD,
    };
    let first = h.provider.log_in(&h.attempt(&request_id), proof()).await;
    let Ok(Outcome::Done(done)) = &first.result else {
        panic!("{first:?}")
    };
    assert!(done.url.starts_with(common::REDIRECT_URI) && done.url.contains("code="));
    assert_eq!(first.outcome, "success");
    let again = h.provider.log_in(&h.attempt(&request_id), proof()).await;
    assert_eq!(refusal_code(&again), Code::LoginExpired, "used once");
    assert_eq!(h.events_of("login.password", "success").await.len(), 1);
}

async fn a_challenge_answers_only_its_request_browser_and_purpose_once(h: Harness) {
    bind_teacher_card(&h).await;
    let (a, b) = (h.pending_login().await, h.pending_login().await);
    // A challenge of request A does not answer request B.
    let of_a = login_challenge(&h, BROWSER, &a).await;
    assert_eq!(
        refusal_code(&card_login(&h, &b, &of_a).await),
        Code::ChallengeInvalid
    );
    // One of another browser does not answer this browser's attempt.
    let other_browser = login_challenge(&h, "another-browser", &a).await;
    assert_eq!(
        refusal_code(&card_login(&h, &a, &other_browser).await),
        Code::ChallengeInvalid
    );
    // One made to register a card does not log in.
    let purpose = ChallengePurpose::Register { user_id: 1 };
    let register = h
        .provider
        .card_challenge(&h.school, BROWSER, purpose, "192.0.2.10")
        .await
        .unwrap();
    assert_eq!(
        refusal_code(&card_login(&h, &a, &register).await),
        Code::ChallengeInvalid
    );
    // Its own challenge logs in, once.
    let own = login_challenge(&h, BROWSER, &a).await;
    assert!(matches!(
        card_login(&h, &a, &own).await.result,
        Ok(Outcome::Done(_))
    ));
    let c = h.pending_login().await;
    assert_eq!(
        refusal_code(&card_login(&h, &c, &own).await),
        Code::ChallengeInvalid
    );
    // No challenge for a request that does not exist.
    let purpose = ChallengePurpose::Login {
        request_id: "made-up",
    };
    let none = h
        .provider
        .card_challenge(&h.school, BROWSER, purpose, "192.0.2.10")
        .await;
    assert_eq!(none.unwrap_err().code, Code::LoginExpired);
}

async fn the_policy_is_asked_after_any_proof(h: Harness) {
    let card_only = RolePolicy {
        role: "teacher".into(),
        methods: vec![Method::Certificate],
    };
    h.directory
        .set_role_policy(h.school.id, card_only)
        .await
        .unwrap();
    let refused = h.password_login("teacher").await;
    assert_eq!(
        refusal_code(&refused),
        Code::LoginMethodNotAllowed(Factor::Password)
    );
    assert_eq!(refused.outcome, "method_not_allowed");
    // A wrong password says only that: the policy is not told before the proof.
    let request_id = h.pending_login().await;
    let wrong = Proof::Password {
        username: "teacher",
        password: "wrong-password",
    };
    let wrong = h.provider.log_in(&h.attempt(&request_id), wrong).await;
    assert_eq!(refusal_code(&wrong), Code::InvalidCredentials);
    assert_eq!(
        h.events_of("login.password", "method_not_allowed")
            .await
            .len(),
        1
    );
}

async fn a_step_up_asks_for_the_card_and_keeps_the_password(h: Harness) {
    bind_teacher_card(&h).await;
    let asked = [("acr_values", ACR_PASSWORD_CERTIFICATE)];
    let request_id = h.pending_login_with(&asked).await;
    let proof = Proof::Password {
        username: "teacher",
        password: common::PASSWORD,
    };
    let first = h.provider.log_in(&h.attempt(&request_id), proof).await;
    let Ok(Outcome::Next(step)) = first.result else {
        panic!("{first:?}")
    };
    // The client asked for the card's level: the page says so (a step-up, not the policy).
    assert_eq!((step.next, step.notice), (Factor::Card, Notice::StepUpCard));
    let challenge = login_challenge(&h, BROWSER, &request_id).await;
    let done = card_login(&h, &request_id, &challenge).await;
    let Ok(Outcome::Done(done)) = done.result else {
        panic!("{done:?}")
    };
    let session = h
        .provider
        .session(&h.school, &done.sid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.acr, ACR_PASSWORD_CERTIFICATE,
        "the password counts too"
    );
    assert!(session.amr.contains(&"pwd".to_string()) && session.amr.contains(&"sc".to_string()));
}

async fn a_forged_or_foreign_request_id_is_gone(h: Harness) {
    let request_id = h.pending_login().await;
    let other = h.directory.create_school("other", "別校").await.unwrap();
    let foreign = Attempt {
        school: &other,
        ..h.attempt(&request_id)
    };
    let proof = || Proof::Password {
        username: "teacher",
        password: common::PASSWORD,
    };
    let at_other = h.provider.log_in(&foreign, proof()).await;
    assert_eq!(
        refusal_code(&at_other),
        Code::LoginExpired,
        "bound to its school"
    );
    let mut forged = request_id.clone();
    forged.replace_range(..4, "AAAA");
    let forged = h.provider.log_in(&h.attempt(&forged), proof()).await;
    assert_eq!(refusal_code(&forged), Code::LoginExpired);
    assert!(h
        .events()
        .await
        .iter()
        .all(|e| !e.event.starts_with("login.")));
}

async fn attempts_refused_before_any_check_are_not_audited(h: Harness) {
    for _ in 0..5 {
        let request_id = h.pending_login().await;
        let wrong = Proof::Password {
            username: "teacher",
            password: "wrong-password",
        };
        h.provider.log_in(&h.attempt(&request_id), wrong).await;
    }
    let waits = h.password_login("teacher").await;
    assert_eq!(refusal_code(&waits), Code::Throttled);
    let audited = h
        .events_of("login.password", "invalid_credentials")
        .await
        .len();
    assert_eq!(audited, 5);
    assert!(h.events_of("login.password", "throttled").await.is_empty());
}
