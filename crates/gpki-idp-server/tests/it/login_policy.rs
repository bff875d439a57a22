//! The school's login policy per role (password, certificate, password + certificate) and
//! the assurance level a client asks for: enforced at the password step, at the card step, for
//! a browser already logged in (step-up), and at token issuance — with real card signatures.

use gpki_idp_core::factor::{ACR_CERTIFICATE, ACR_PASSWORD, ACR_PASSWORD_CERTIFICATE};
use gpki_idp_core::model::NewClient;
use gpki_idp_core::policy::{Method, RolePolicy};
use gpki_idp_server::demo;
use gpki_testpki::Leaf;
use reqwest::blocking::Client as Http;
use serde_json::{json, Value};

use crate::support::card::{card, server_with, signer};
use crate::support::http::{claims_of, post};
use crate::support::rp::{location_or_body, query_of, LoginForm};
use crate::support::server::new_client;
use crate::support::{block_on, browser, hidden, start, Backend, Rp, TestServer};

/// `client` of the demo school, as these tests ask for a login.
fn rp(server: &TestServer, client: &str) -> Rp {
    Rp::client(&server.issuer(demo::SCHOOL), client, "").param("state", "s")
}

/// The authorize page for `client` with extra parameters: (status, html or redirect).
fn authorize(server: &TestServer, b: &Http, client: &str, extra: &[(&str, &str)]) -> (u16, String) {
    location_or_body(rp(server, client).authorize(b, extra))
}

/// The teacher's password on the login page of `form`: (status, html or redirect).
fn password_step(server: &TestServer, b: &Http, form: &LoginForm) -> (u16, String) {
    let r = server
        .portal()
        .submit_password(b, form, "teacher", demo::PASSWORD);
    location_or_body(r)
}

/// The teacher's card on the login page of `form`: (status, body).
fn card_step(server: &TestServer, b: &Http, form: &LoginForm, leaf: &Leaf) -> (u16, Value) {
    server.portal().card_login(b, form, "teacher", signer(leaf))
}

/// The ID token claims of a redirect carrying a code (exchanged by `client`).
fn claims_from(
    server: &TestServer,
    redirect: &str,
    client: &str,
    secret: &str,
) -> Result<Value, Value> {
    let q = query_of(redirect);
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code in {redirect}"));
    let (status, body) = Rp::client(&server.issuer(demo::SCHOOL), client, secret).exchange(code);
    if (200..300).contains(&status) {
        Ok(claims_of(body["id_token"].as_str().unwrap()))
    } else {
        Err(body)
    }
}

fn demo_claims(server: &TestServer, redirect: &str) -> Value {
    claims_from(server, redirect, demo::CLIENT_ID, demo::CLIENT_SECRET).expect("tokens")
}

fn set_teacher_policy(server: &TestServer, methods: &[Method]) {
    let provider = &server.state.provider;
    let school = server.demo_school();
    let policy = vec![RolePolicy {
        role: "teacher".into(),
        methods: methods.to_vec(),
    }];
    block_on(provider.directory().replace_policy(school.id, policy)).unwrap();
}

/// A server where the teacher has registered a card; returns it with the card.
fn server_with_card() -> (TestServer, Leaf) {
    let leaf = card(0x5a1);
    (server_with(&leaf), leaf)
}

/// The same login, with the CSRF value of the page that asks for the next step.
fn same_req(form: &LoginForm, page: &str) -> LoginForm {
    LoginForm {
        req: form.req.clone(),
        csrf: hidden(page, "csrf"),
    }
}

fn fresh_page(server: &TestServer, b: &Http) -> LoginForm {
    let (status, html) = authorize(server, b, demo::CLIENT_ID, &[]);
    assert_eq!(status, 200, "{html}");
    LoginForm::of(&html)
}

#[test]
fn each_role_policy_is_enforced_at_the_next_login() {
    use Method::*;
    let (server, leaf) = server_with_card();
    for methods in [
        vec![Password],
        vec![Certificate],
        vec![PasswordAndCertificate],
        vec![Password, Certificate],
    ] {
        set_teacher_policy(&server, &methods);
        let label = format!("{methods:?}");

        // Password first.
        let b = browser();
        let form = fresh_page(&server, &b);
        let (status, out) = password_step(&server, &b, &form);
        match methods.as_slice() {
            [Certificate] => {
                assert_eq!(status, 403, "{label}");
                assert!(out.contains("不允許您的身份以密碼登入"), "{label}");
            }
            [PasswordAndCertificate] => {
                assert_eq!(status, 200, "{label}: the card is asked for");
                assert!(out.contains("data-step=\"card\""), "{label}");
                assert!(out.contains("同時使用密碼與自然人憑證"), "{label}");
                let (status, body) = card_step(&server, &b, &same_req(&form, &out), &leaf);
                assert_eq!(status, 200, "{label}: {body}");
                let claims = demo_claims(&server, body["redirect"].as_str().unwrap());
                assert_eq!(claims["acr"], ACR_PASSWORD_CERTIFICATE);
                assert_eq!(claims["amr"], json!(["pwd", "sc", "hwk", "pin", "mfa"]));
            }
            _ => {
                assert_eq!(status, 302, "{label}: {out}");
                assert_eq!(demo_claims(&server, &out)["acr"], ACR_PASSWORD, "{label}");
            }
        }

        // The card first.
        let b = browser();
        let form = fresh_page(&server, &b);
        let (status, body) = card_step(&server, &b, &form, &leaf);
        match methods.as_slice() {
            [Password] => {
                assert_eq!(status, 403, "{label}");
                assert_eq!(body["error"], "method_not_allowed", "{label}");
            }
            [PasswordAndCertificate] => {
                assert_eq!(status, 200, "{label}");
                assert_eq!(body["next"], "password", "{label}: {body}");
                let (status, out) = password_step(&server, &b, &form);
                assert_eq!(status, 302, "{label}: {out}");
                assert_eq!(demo_claims(&server, &out)["acr"], ACR_PASSWORD_CERTIFICATE);
            }
            _ => {
                assert_eq!(status, 200, "{label}: {body}");
                let claims = demo_claims(&server, body["redirect"].as_str().unwrap());
                assert_eq!(claims["acr"], ACR_CERTIFICATE, "{label}");
            }
        }
    }
}

#[test]
fn a_client_asking_for_the_card_steps_a_password_session_up() {
    let (server, leaf) = server_with_card();
    let logged_in = || {
        let b = browser();
        let form = fresh_page(&server, &b);
        let (status, _) = password_step(&server, &b, &form);
        assert_eq!(status, 302);
        b
    };

    // The session is reused when nothing more is asked for.
    let b = logged_in();
    let (status, location) = authorize(&server, &b, demo::CLIENT_ID, &[]);
    assert_eq!(status, 302);
    assert_eq!(demo_claims(&server, &location)["acr"], ACR_PASSWORD);

    // acr_values and the claims parameter both ask for the card: the page asks for it only.
    let claims =
        json!({"id_token": {"acr": {"essential": true, "values": [ACR_CERTIFICATE]}}}).to_string();
    for extra in [
        [("acr_values", ACR_CERTIFICATE)],
        [("claims", claims.as_str())],
    ] {
        let b = logged_in();
        let (status, html) = authorize(&server, &b, demo::CLIENT_ID, &extra);
        assert_eq!(status, 200, "{extra:?}");
        assert!(html.contains("data-step=\"card\""), "{extra:?}");
        assert!(html.contains("此系統要求以自然人憑證登入"));
        assert!(html.contains("value=\"teacher\""), "the account is known");
        let (status, body) = card_step(&server, &b, &LoginForm::of(&html), &leaf);
        assert_eq!(status, 200, "{body}");
        let claims = demo_claims(&server, body["redirect"].as_str().unwrap());
        assert_eq!(
            claims["acr"], ACR_PASSWORD_CERTIFICATE,
            "the session's password counts too"
        );
        // The session is strong enough now: reused without asking again.
        let (status, _) = authorize(&server, &b, demo::CLIENT_ID, &extra);
        assert_eq!(status, 302);
    }

    // A malformed claims parameter goes back to the client as invalid_request.
    let (status, location) =
        authorize(&server, &browser(), demo::CLIENT_ID, &[("claims", "{nope")]);
    assert_eq!(status, 302);
    assert!(location.contains("error=invalid_request"), "{location}");
}

#[test]
fn a_client_minimum_acr_is_enforced_at_login_and_at_token_issuance() {
    let (server, leaf) = server_with_card();
    let provider = &server.state.provider;
    let school = server.demo_school();
    let strict = NewClient {
        name: "needs the card".into(),
        min_acr: Some(ACR_CERTIFICATE.into()),
        ..new_client(&school, "strict", Some("strict-secret"))
    };
    block_on(provider.directory().create_client(strict)).unwrap();

    // A password is not enough: the page asks for the card, and the card completes it.
    let b = browser();
    let (_, html) = authorize(&server, &b, "strict", &[]);
    let form = LoginForm::of(&html);
    let (status, out) = password_step(&server, &b, &form);
    assert_eq!(status, 200);
    assert!(out.contains("data-step=\"card\""));
    let (_, body) = card_step(&server, &b, &same_req(&form, &out), &leaf);
    let claims = claims_from(
        &server,
        body["redirect"].as_str().unwrap(),
        "strict",
        "strict-secret",
    )
    .unwrap();
    assert_eq!(claims["acr"], ACR_PASSWORD_CERTIFICATE);

    // A role limited to the password can never reach it: a clear refusal, not a loop.
    set_teacher_policy(&server, &[Method::Password]);
    let b = browser();
    let (_, html) = authorize(&server, &b, "strict", &[]);
    let (status, out) = password_step(&server, &b, &LoginForm::of(&html));
    assert_eq!(status, 403);
    assert!(
        out.contains("不允許您的身份以此系統要求的方式登入"),
        "{out}"
    );
    set_teacher_policy(&server, &[Method::Password, Method::Certificate]);

    // At token issuance: a code of a password login, then the client's minimum is raised.
    let b = browser();
    let (_, location) = password_step(&server, &b, &fresh_page(&server, &b));
    let mut portal = block_on(provider.directory().client(school.id, demo::CLIENT_ID))
        .unwrap()
        .unwrap();
    portal.min_acr = Some(ACR_CERTIFICATE.into());
    block_on(provider.directory().update_client(portal)).unwrap();
    // As the admin API does after a change (other replicas see it within client_cache_ttl).
    provider.forget_client(school.id, demo::CLIENT_ID);
    let refused =
        claims_from(&server, &location, demo::CLIENT_ID, demo::CLIENT_SECRET).unwrap_err();
    assert_eq!(refused["error"], "invalid_grant");
}

/// Past the address's budget no account is read and every name gets the stranger's answer:
/// never a refusal, which would stop the login page of every teacher behind a school's NAT
/// address (attack_round2).
#[test]
fn looking_up_accounts_is_budgeted_and_unknown_ones_look_like_teachers() {
    let server = start(Backend::Embedded, |c| c.tokens.max_lookups_per_ip = 3);
    let b = browser();
    let LoginForm { req, csrf } = fresh_page(&server, &b);
    let url = format!("{}/login/methods", server.issuer(demo::SCHOOL));
    let look = |name: &str| {
        post(
            &b,
            url.clone(),
            &[("req", &req), ("csrf", &csrf), ("username", name)],
        )
    };
    let (status, teacher) = look("teacher");
    assert_eq!(status, 200);
    let (_, nobody) = look("nobody-at-all");
    assert_eq!(
        teacher, nobody,
        "an unknown account is answered as a teacher"
    );
    assert_eq!(look("staff").0, 200);
    let (status, body) = look("gm");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, nobody, "past the budget, the stranger's answer");
}
