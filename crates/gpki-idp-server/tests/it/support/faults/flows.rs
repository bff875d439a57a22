//! The relying party's steps as the fault tests take them: each step bounded in time and
//! answered with an [`Answer`], never a panic, so a test can count what went wrong.

use std::time::{Duration, Instant};

use gpki_idp_server::demo;
use gpki_testpki::Leaf;
use reqwest::blocking::Client as Http;
use serde_json::Value;

use super::client::{browser, client, Answer};
use crate::support::card::sign;
use crate::support::rp::{LoginForm, Rp};

/// Every request of the fault tests gives up after this long: a hang is a failure, not a wait.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(15);

/// The demo portal as the fault tests log in to it.
pub fn portal(issuer: &str) -> Rp {
    Rp::portal(issuer)
        .scope("openid profile")
        .param("state", "fault")
        .param("nonce", "n-fault")
}

/// The login page's form, or the answer when there was no page.
pub fn open_login_page(b: &Http, issuer: &str) -> Result<LoginForm, Answer> {
    let t0 = Instant::now();
    let page = Answer::of(t0, b.get(portal(issuer).authorize_url(&[])).send());
    match &page {
        Answer::Got {
            status: 200,
            body: Value::String(html),
            ..
        } if html.contains("name=\"req\"") => Ok(LoginForm::of(html)),
        _ => Err(page),
    }
}

/// The password form of an open login page.
pub fn post_password(b: &Http, issuer: &str, form: &LoginForm, user: &str, pw: &str) -> Answer {
    let t0 = Instant::now();
    Answer::of(
        t0,
        portal(issuer).password_request(b, form, user, pw).send(),
    )
}

/// authorize → login page → password: the last answer (a redirect with a code on success).
pub fn password_login(b: &Http, issuer: &str, username: &str, password: &str) -> Answer {
    match open_login_page(b, issuer) {
        Ok(form) => post_password(b, issuer, &form, username, password),
        Err(answer) => answer,
    }
}

/// A token request of the demo portal (client_secret_basic).
pub fn token(http: &Http, issuer: &str, form: &[(&str, &str)]) -> Answer {
    let t0 = Instant::now();
    Answer::of(t0, portal(issuer).token_request(http, form).send())
}

pub fn exchange_code(http: &Http, issuer: &str, code: &str) -> Answer {
    let redirect = crate::support::rp::REDIRECT;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    token(http, issuer, &form)
}

pub fn refresh(http: &Http, issuer: &str, refresh_token: &str) -> Answer {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(http, issuer, &form)
}

/// A full login of the teacher by the code flow: the token response. Panics with the answer
/// that went wrong.
pub fn tokens_by_password(issuer: &str) -> Value {
    let b = browser(REQUEST_LIMIT, "gpki-fault-tests");
    let login = password_login(&b, issuer, "teacher", demo::PASSWORD);
    let code = login
        .code()
        .unwrap_or_else(|| panic!("password login gave no code: {login:?}"));
    let tokens = exchange_code(&client(REQUEST_LIMIT), issuer, &code);
    assert_eq!(tokens.status(), Some(200), "code exchange: {tokens:?}");
    tokens.body().clone()
}

/// The same, as a yes/no for recovery loops.
pub fn full_login_works(issuer: &str) -> bool {
    let limit = Duration::from_secs(10);
    let b = browser(limit, "gpki-fault-tests");
    let Some(code) = password_login(&b, issuer, "teacher", demo::PASSWORD).code() else {
        return false;
    };
    let tokens = exchange_code(&client(limit), issuer, &code);
    tokens.status() == Some(200) && tokens.body()["refresh_token"].is_string()
}

/// A card login of the teacher with `leaf`, every step bounded: the last answer.
pub fn card_login(issuer: &str, leaf: &Leaf) -> Answer {
    let b = browser(REQUEST_LIMIT, "gpki-fault-tests");
    let form = match open_login_page(&b, issuer) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let rp = portal(issuer);
    let t0 = Instant::now();
    let ch = Answer::of(t0, rp.challenge_request(&b, &form).send());
    let Some(challenge) = ch.body()["challenge"].as_str().map(str::to_string) else {
        return ch;
    };
    let signature = sign(leaf, &challenge, &challenge);
    let t0 = Instant::now();
    let card = rp.card_request(&b, &form, "teacher", &challenge, &signature);
    Answer::of(t0, card.send())
}
