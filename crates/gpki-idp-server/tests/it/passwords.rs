//! Passwords through their life (issue 19): a password set by someone else is changed at the
//! next password login, on our page, before any code is issued; the new one meets the
//! school's password policy; the old one no longer works.

use gpki_idp_server::demo;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin::{call, token};
use crate::support::rp::{location_or_body, redirect_query, LoginForm};
use crate::support::{block_on, browser, hidden, start, Backend, TestServer, REDIRECT};

const TEMPORARY: &str = "Temp-pass-4821";
const CHOSEN: &str = "river-lantern-58-quiet";

/// A teacher the GM creates with a password, through the admin API.
fn teacher_set_by_gm(server: &TestServer, gm: &str, username: &str) -> Value {
    let new = json!({"username": username, "display_name": "新老師", "roles": ["teacher"], "password": TEMPORARY});
    let created = call(
        server,
        Method::POST,
        "/schools/demo/users",
        Some(gm),
        Some(new),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.body
}

/// The change step's form: its address and the new password twice.
fn change(
    server: &TestServer,
    b: &Http,
    form: &LoginForm,
    new: &str,
    again: &str,
) -> (u16, String) {
    let fields = [
        ("req", form.req.as_str()),
        ("csrf", form.csrf.as_str()),
        ("new_password", new),
        ("new_password_again", again),
    ];
    let url = format!("{}/login/password", server.issuer(demo::SCHOOL));
    location_or_body(b.post(url).form(&fields).send().unwrap())
}

fn events(server: &TestServer, event: &str) -> Vec<gpki_idp_core::audit::AuditEvent> {
    let provider = &server.state.provider;
    let school = server.demo_school();
    let all = block_on(provider.directory().audit_events(school.id, 0, 10_000)).unwrap();
    all.into_iter().filter(|e| e.event == event).collect()
}

#[test]
fn a_password_the_gm_set_is_changed_before_any_code_is_issued() {
    forced_change(Backend::Embedded);
}

#[test]
fn a_password_the_gm_set_is_changed_before_any_code_on_postgres_and_redis() {
    forced_change(Backend::Real);
}

fn forced_change(backend: Backend) {
    let server = start(backend, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let created = teacher_set_by_gm(&server, &gm, "newt");
    assert_eq!(created["password_must_change"], true, "{created}");
    let rp = server.portal();
    let b = browser();
    let form = rp.login_page(&b, &[]);
    let (status, location) = location_or_body(rp.submit_password(&b, &form, "newt", TEMPORARY));
    // Not the client's redirect: the change step, and no code anywhere.
    assert_eq!(status, 303, "{location}");
    assert!(
        location.starts_with("/schools/demo/login/password?req="),
        "{location}"
    );
    assert!(!location.contains("code="));
    // The password again on the same request leads to the same step, still no code.
    let (status, again) = location_or_body(rp.submit_password(&b, &form, "newt", TEMPORARY));
    assert_eq!((status, again.as_str()), (303, location.as_str()));

    let page = b.get(format!("{}{location}", server.base)).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert!(
        html.contains("lang=\"zh-Hant-TW\"") && html.contains("變更密碼"),
        "{html}"
    );
    assert!(
        html.contains("<label for=\"new_password\">")
            && html.contains("<label for=\"new_password_again\">")
    );
    assert_eq!(hidden(&html, "req"), form.req);

    // Another browser cannot set the password of this login.
    let other = browser();
    let other_form = rp.login_page(&other, &[]);
    let stolen = LoginForm {
        req: form.req.clone(),
        csrf: other_form.csrf,
    };
    let (status, body) = change(&server, &other, &stolen, CHOSEN, CHOSEN);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("login_expired"), "{body}");

    // The policy's refusals, each with its stable code, and still no code.
    let (status, body) = change(&server, &b, &form, CHOSEN, "something-else-1");
    assert_eq!(status, 400);
    assert!(body.contains("兩次輸入的新密碼不一致"), "{body}");
    let (status, body) = change(&server, &b, &form, "short", "short");
    assert_eq!(status, 400);
    assert!(body.contains("新密碼太短"), "{body}");
    let (status, body) = change(&server, &b, &form, TEMPORARY, TEMPORARY);
    assert_eq!(status, 400);
    assert!(body.contains("不可使用目前或最近使用過的密碼"), "{body}");
    let refused: Vec<_> = events(&server, "login.password_change")
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        refused,
        ["password_mismatch", "password_too_short", "password_reused"]
    );

    // The new password: the login completes, the code works.
    let (status, location) = change(&server, &b, &form, CHOSEN, CHOSEN);
    assert_eq!(status, 302, "{location}");
    assert!(location.starts_with(REDIRECT), "{location}");
    let code = crate::support::rp::query_of(&location)["code"].clone();
    let (status, tokens) = rp.exchange(&code);
    assert_eq!(status, 200, "{tokens}");
    // Once: the step is over.
    let (status, _) = change(
        &server,
        &b,
        &form,
        "another-new-pass-77",
        "another-new-pass-77",
    );
    assert_eq!(status, 400);

    let changed = events(&server, "user.password_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor, "newt");
    assert_eq!(changed[0].subject_user.as_deref(), Some("newt"));
    assert_eq!(changed[0].detail["reason"], "temporary");
    let done = events(&server, "login.password_change");
    assert_eq!(done.last().unwrap().outcome, "success");

    // The old password no longer works; the new one logs in at once.
    let b = browser();
    let r = rp.password_login(&b, &[], "newt", TEMPORARY);
    assert_eq!(r.status(), 200, "refused on the page");
    assert!(r.text().unwrap().contains("帳號或密碼錯誤"));
    let r = rp.password_login(&b, &[], "newt", CHOSEN);
    assert_eq!(r.status(), 302);
    assert!(redirect_query(&r).contains_key("code"));
    let view = call(
        &server,
        Method::GET,
        "/schools/demo/users/newt",
        Some(&gm),
        None,
    );
    assert_eq!(view.body["password_must_change"], false, "{}", view.body);

    // A GM's new password is temporary again.
    let patch = json!({"password": TEMPORARY});
    let changed = call(
        &server,
        Method::PATCH,
        "/schools/demo/users/newt",
        Some(&gm),
        Some(patch),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["password_must_change"], true);
    let b = browser();
    let r = rp.password_login(&b, &[], "newt", TEMPORARY);
    assert_eq!(r.status(), 303);
}

/// A password the holder set is not temporary: the demo teacher logs in at once.
#[test]
fn a_password_that_is_not_temporary_logs_in_at_once() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let r = server
        .portal()
        .password_login(&b, &[], "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 302);
    assert!(events(&server, "login.password_change").is_empty());
}

/// Logs `username` in with `password` in a new browser and, at the change step, sends `new`
/// twice: the answer to the change (status, Location or page).
fn log_in_and_change(
    server: &TestServer,
    username: &str,
    password: &str,
    new: &str,
) -> (u16, String) {
    let rp = server.portal();
    let b = browser();
    let form = rp.login_page(&b, &[]);
    let (status, location) = location_or_body(rp.submit_password(&b, &form, username, password));
    assert_eq!(status, 303, "the change step: {location}");
    change(server, &b, &form, new, new)
}

/// The GM's policy applies to the change (length, strength, history of 3); the district's
/// defaults fill what the school leaves out; a password older than the maximum age is changed
/// at the next login as a temporary one is.
#[test]
fn the_school_password_policy_rules_the_change() {
    let url = gpki_idp_store::testing::fresh_sqlite_url();
    let db = url.clone();
    let server = start(Backend::Embedded, move |c| {
        c.database_url = Some(db);
        c.passwords.history = 3;
    });
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let policy = "/schools/demo/password-policy";
    let shown = call(&server, Method::GET, policy, Some(&gm), None);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["effective"]["min_length"], 8);
    assert_eq!(shown.body["effective"]["max_age_days"], 0, "off by default");
    let bad = call(
        &server,
        Method::PUT,
        policy,
        Some(&gm),
        Some(json!({"min_length": 3})),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let own = json!({"min_length": 12, "max_age_days": 90});
    let set = call(&server, Method::PUT, policy, Some(&gm), Some(own));
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["effective"]["min_length"], 12);
    assert_eq!(set.body["effective"]["history"], 3, "the district's");
    let audited = events(&server, "school.password_policy");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].detail["after"]["min_length"], 12);

    teacher_set_by_gm(&server, &gm, "newt");
    let (status, body) = log_in_and_change(&server, "newt", TEMPORARY, "Short-pw-91");
    assert_eq!(status, 400);
    assert!(body.contains("新密碼太短"), "11 characters: {body}");
    let (status, body) = log_in_and_change(&server, "newt", TEMPORARY, "woaini5201314");
    assert_eq!(status, 400);
    assert!(
        body.contains("新密碼太容易被猜到"),
        "a common password: {body}"
    );
    let (status, _) = log_in_and_change(&server, "newt", TEMPORARY, CHOSEN);
    assert_eq!(status, 302);

    // History: the GM resets, the teacher may not go back to the last three.
    let reset = |pw: &str| {
        let patch = json!({"password": pw});
        let r = call(
            &server,
            Method::PATCH,
            "/schools/demo/users/newt",
            Some(&gm),
            Some(patch),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    reset("Second-temporary-1");
    let (status, body) = log_in_and_change(&server, "newt", "Second-temporary-1", CHOSEN);
    assert_eq!(status, 400);
    assert!(body.contains("不可使用目前或最近使用過的密碼"), "{body}");
    let (status, _) = log_in_and_change(
        &server,
        "newt",
        "Second-temporary-1",
        "another-chosen-one-63",
    );
    assert_eq!(status, 302);
    // The last three are now the third temporary one, the other chosen one and the second
    // temporary one: CHOSEN, older (kept, but not checked), may come back.
    reset("Third-temporary-22");
    let (status, body) = log_in_and_change(
        &server,
        "newt",
        "Third-temporary-22",
        "another-chosen-one-63",
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = log_in_and_change(&server, "newt", "Third-temporary-22", CHOSEN);
    assert_eq!(status, 302, "older than the last 3");

    // Maximum age: a password changed 91 days ago is changed at the next login.
    let rp = server.portal();
    let r = rp.password_login(&browser(), &[], "newt", CHOSEN);
    assert_eq!(r.status(), 302, "not expired yet");
    let aged = "UPDATE users SET password_changed_at = password_changed_at - 91 * 86400 \
                WHERE username = 'newt'";
    gpki_idp_store::testing::run_sql(&url, aged);
    let (status, _) = log_in_and_change(&server, "newt", CHOSEN, "fresh-after-expiry-48");
    assert_eq!(status, 302);
    let reasons: Vec<_> = events(&server, "user.password_changed")
        .into_iter()
        .map(|e| e.detail["reason"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(reasons.last().map(String::as_str), Some("expired"));
}

/// The account page's password form: (status, where it sends the browser).
fn own_change(
    server: &TestServer,
    b: &Http,
    csrf: &str,
    current: &str,
    new: &str,
) -> (u16, String) {
    let fields = [
        ("csrf", csrf),
        ("current_password", current),
        ("new_password", new),
        ("new_password_again", new),
    ];
    let url = format!("{}/account/password", server.issuer(demo::SCHOOL));
    location_or_body(b.post(url).form(&fields).send().unwrap())
}

fn account_page(server: &TestServer, b: &Http, location: &str) -> String {
    let page = b.get(format!("{}{location}", server.base)).send().unwrap();
    assert_eq!(page.status(), 200);
    page.text().unwrap()
}

/// 變更密碼 with the present password; a session opened with the password alone cannot
/// change it without the present one.
#[test]
fn a_teacher_changes_the_password_on_the_account_page() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let csrf = server.portal().log_in(&b, "teacher");
    let html = account_page(&server, &b, "/schools/demo/account");
    assert!(html.contains("<label for=\"current_password\">"), "{html}");

    let (status, location) = own_change(&server, &b, &csrf, "", CHOSEN);
    assert_eq!(status, 303);
    assert_eq!(
        location,
        "/schools/demo/account?password=password_current_wrong"
    );
    assert!(account_page(&server, &b, &location).contains("目前的密碼不正確"));
    let (_, location) = own_change(&server, &b, &csrf, "not-the-password", CHOSEN);
    assert!(
        location.ends_with("password=password_current_wrong"),
        "{location}"
    );
    let (status, body) = own_change(&server, &b, "forged", demo::PASSWORD, CHOSEN);
    assert_eq!(status, 403, "{body}");
    let (_, location) = own_change(&server, &b, &csrf, demo::PASSWORD, CHOSEN);
    assert!(location.ends_with("password=changed"), "{location}");
    assert!(account_page(&server, &b, &location).contains("密碼已變更"));
    let (_, location) = own_change(&server, &b, &csrf, CHOSEN, CHOSEN);
    assert!(location.ends_with("password=password_reused"), "{location}");

    let changed = events(&server, "user.password_changed");
    let outcomes: Vec<_> = changed.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "password_current_wrong",
            "password_current_wrong",
            "success",
            "password_reused"
        ]
    );
    let done = &changed[2];
    assert_eq!(
        (done.actor.as_str(), done.detail["reason"].as_str()),
        ("teacher", Some("own"))
    );

    let rp = server.portal();
    let r = rp.password_login(&browser(), &[], "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 200, "the old password no longer works");
    let r = rp.password_login(&browser(), &[], "teacher", CHOSEN);
    assert_eq!(r.status(), 302, "not temporary: no change step");

    // A school's minimum age: the password just changed may not change again yet.
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let policy = json!({"min_age_days": 1});
    let set = call(
        &server,
        Method::PUT,
        "/schools/demo/password-policy",
        Some(&gm),
        Some(policy),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let (_, location) = own_change(&server, &b, &csrf, CHOSEN, "a-later-password-31");
    assert!(
        location.ends_with("password=password_too_new"),
        "{location}"
    );
    assert!(account_page(&server, &b, &location).contains("密碼剛變更過"));

    // Not logged in: nothing changes.
    let stranger = browser();
    let form = rp.login_page(&stranger, &[]);
    let (status, body) = own_change(&server, &stranger, &form.csrf, CHOSEN, "yet-another-one-77");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("login_required"), "{body}");
}

/// A teacher who forgot the password logs in with the registered card and sets a new one
/// without the present one: the card is the recovery factor, no GM needed.
#[test]
fn a_card_session_sets_a_new_password_without_the_present_one() {
    use crate::support::card::{card, portal, server_with, signer};
    let leaf = card(0x19a1);
    let server = server_with(&leaf);
    let b = browser();
    let rp = portal(&server);
    let form = rp.login_page(&b, &[]);
    let (status, body) = rp.card_login(&b, &form, "teacher", signer(&leaf));
    assert_eq!(status, 200, "{body}");
    let (status, location) = own_change(&server, &b, &form.csrf, "", CHOSEN);
    assert_eq!(status, 303);
    assert!(location.ends_with("password=changed"), "{location}");
    let done = events(&server, "user.password_changed");
    assert_eq!(done.last().unwrap().detail["reason"], "card");
    let r = server
        .portal()
        .password_login(&browser(), &[], "teacher", CHOSEN);
    assert_eq!(r.status(), 302);
}

/// 忘記密碼 in a new browser: (status, page).
fn reset_with(server: &TestServer, username: &str, code: &str, new: &str) -> (u16, String) {
    let b = browser();
    let url = format!("{}/password-reset", server.issuer(demo::SCHOOL));
    let page = b.get(&url).send().unwrap();
    assert_eq!(page.status(), 200);
    let csrf = hidden(&page.text().unwrap(), "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("username", username),
        ("code", code),
        ("new_password", new),
        ("new_password_again", new),
    ];
    let r = b.post(&url).form(&fields).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// A GM's reset code: random, single use, expiring, not the password's hash's to see; the
/// password it sets is not temporary.
#[test]
fn a_gm_reset_code_works_once_and_expires() {
    let server = start(Backend::Embedded, |c| c.tokens.reset_code_ttl_secs = 2);
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let path = "/schools/demo/users/teacher/reset-code";
    let issued = call(&server, Method::POST, path, Some(&gm), None);
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(issued.body["expires_in"], 2);
    let code = issued.body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 14, "ABCD-EFGH-JKLM: {code}");
    let audited = events(&server, "user.reset_code");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].subject_user.as_deref(), Some("teacher"));
    assert!(!serde_json::to_string(&audited[0]).unwrap().contains(&code));
    let missing = call(
        &server,
        Method::POST,
        "/schools/demo/users/nobody/reset-code",
        Some(&gm),
        None,
    );
    assert_eq!(missing.status, 404);

    // The login page leads to 忘記密碼.
    let form_page = browser()
        .get(server.portal().authorize_url(&[]))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(form_page.contains("/schools/demo/password-reset"));

    let (status, body) = reset_with(&server, "teacher", "AAAA-BBBB-CCCC", CHOSEN);
    assert_eq!(status, 400);
    assert!(body.contains("重設碼不正確"), "{body}");
    let (status, _) = reset_with(&server, "gm", &code, CHOSEN);
    assert_eq!(status, 400, "another account's code");
    let (status, body) = reset_with(&server, "teacher", &code, "woaini1314");
    assert_eq!(status, 400);
    assert!(body.contains("新密碼太容易被猜到"), "{body}");
    // Case, dashes and spaces do not matter; the code still works after a refused password.
    let typed = code.replace('-', " ").to_lowercase();
    let (status, body) = reset_with(&server, "teacher", &typed, CHOSEN);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("密碼已重設"), "{body}");
    let (status, _) = reset_with(&server, "teacher", &code, "yet-another-secret-40");
    assert_eq!(status, 400, "used once");

    let r = server
        .portal()
        .password_login(&browser(), &[], "teacher", CHOSEN);
    assert_eq!(r.status(), 302, "not temporary");
    let changed = events(&server, "user.password_changed");
    assert_eq!(changed.last().unwrap().detail["reason"], "reset_code");
    let refused: Vec<_> = events(&server, "user.password_reset")
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    // A code nobody holds (made up, or used already) is not audited (attack round 3): the
    // teacher's code typed with another account is, and the weak password.
    assert_eq!(refused, ["reset_code_invalid", "password_too_weak"]);

    // A code expires.
    let issued = call(&server, Method::POST, path, Some(&gm), None);
    let code = issued.body["code"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let (status, _) = reset_with(&server, "teacher", &code, "after-expiry-secret-12");
    assert_eq!(status, 400, "expired");
}

/// 資安選項設定 → 密碼原則: the GM sets the school's rules on the page, as the admin API does;
/// an empty rule is the district's; a rule out of range saves nothing.
#[test]
fn the_gm_sets_the_password_policy_on_the_security_page() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let csrf = server.portal().log_in(&b, "gm");
    let url = format!("{}/admin/security", server.issuer(demo::SCHOOL));
    let page = b.get(&url).send().unwrap().text().unwrap();
    assert!(
        page.contains("密碼原則") && page.contains("<label for=\"pw-min_length\">"),
        "{page}"
    );
    let save = |fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let r = b
            .post(format!("{url}/passwords"))
            .form(&form)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, page) = save(&[
        ("min_length", "12"),
        ("history", ""),
        ("max_age_days", "180"),
    ]);
    assert_eq!(status, 200);
    assert!(page.contains("密碼原則已儲存"), "{page}");
    assert!(page.contains("value=\"12\"") && page.contains("value=\"180\""));
    let (_, page) = save(&[("min_length", "3")]);
    assert!(page.contains("密碼原則的數值超出範圍"), "{page}");
    let (_, page) = save(&[("min_length", "twelve")]);
    assert!(page.contains("密碼原則的數值超出範圍"), "{page}");

    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let shown = call(
        &server,
        Method::GET,
        "/schools/demo/password-policy",
        Some(&gm),
        None,
    );
    assert_eq!(shown.body["school"]["min_length"], 12, "{}", shown.body);
    assert_eq!(shown.body["effective"]["max_age_days"], 180);
    assert_eq!(shown.body["effective"]["history"], 3, "the district's");
    let audited = events(&server, "school.password_policy");
    assert_eq!(audited.len(), 1, "the refused ones saved nothing");
    assert_eq!(audited[0].actor, "gm");
    // 密碼重設碼 on the same page: shown once, works on 忘記密碼.
    let issue = |username: &str| {
        let form = [("csrf", csrf.as_str()), ("username", username)];
        let r = b
            .post(format!("{url}/reset-code"))
            .form(&form)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, page) = issue("staff");
    assert_eq!(status, 200);
    let shown = page.split("的密碼重設碼：<strong>").nth(1).expect(&page);
    let code = shown.split("</strong>").next().unwrap().to_string();
    assert_eq!(code.len(), 14, "{code}");
    let (_, page) = issue("nobody");
    assert!(page.contains("找不到這個帳號"), "{page}");
    let issued = events(&server, "user.reset_code");
    assert_eq!((issued.len(), issued[0].actor.as_str()), (1, "gm"));
    let (status, body) = reset_with(&server, "staff", &code, CHOSEN);
    assert_eq!(status, 200, "{body}");

    // A teacher's session cannot.
    let teacher = browser();
    let csrf = server.portal().log_in(&teacher, "teacher");
    let form = [("csrf", csrf.as_str()), ("min_length", "6")];
    let r = teacher
        .post(format!("{url}/passwords"))
        .form(&form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
}
