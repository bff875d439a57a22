//! The attack on issue 19's password lifecycle and sessions (docs/ABUSE.md, "Issue 19: attack
//! round"): each hole found on the release build, as a test that failed before its fix.

use gpki_idp_core::login::MAX_CHANGE_TRIES;
use gpki_idp_core::policy::RegistrationRules;
use gpki_idp_server::demo;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::json;

use crate::support::admin::{audit_count, call, token};
use crate::support::rp::{location_or_body, LoginForm};
use crate::support::{block_on, browser, hidden, start, Backend, TestServer};

/// The test client (127.0.0.1) is behind the school's NAT address: the campus ranges say so.
fn on_campus(server: &TestServer) {
    block_on(async {
        let dir = &server.state.provider.directory();
        let school = dir.school_by_code(demo::SCHOOL).await.unwrap().unwrap();
        let rules = RegistrationRules {
            campus_cidrs: vec!["127.0.0.0/8".into()],
            require_enrollment_code: false,
        };
        dir.set_registration_rules(school.id, rules).await.unwrap();
    });
}

/// 忘記密碼 from browser `b`: the status.
fn reset(server: &TestServer, b: &Http, username: &str, code: &str) -> u16 {
    let url = format!("{}/password-reset", server.issuer(demo::SCHOOL));
    let csrf = hidden(&b.get(&url).send().unwrap().text().unwrap(), "csrf");
    let new = "river-lantern-58-quiet";
    let fields = [
        ("csrf", csrf.as_str()),
        ("username", username),
        ("code", code),
        ("new_password", new),
        ("new_password_again", new),
    ];
    b.post(&url).form(&fields).send().unwrap().status().as_u16()
}

/// A wrong reset code costs no argon2 (nothing is hashed before the code is right), and from
/// the school's campus addresses no per-address scope counts it: with a new made-up account
/// name each time, every one was audited, 1,561 events a second from one pupil on the
/// release build. A code nobody issued matches nothing and proves nothing: not audited. A real
/// code typed with another account still is.
#[test]
fn a_pupil_on_campus_cannot_fill_the_audit_log_with_made_up_reset_codes() {
    let server = start(Backend::Embedded, |_| {});
    on_campus(&server);
    let b = browser();
    let before = audit_count(&server, demo::SCHOOL);
    let statuses: Vec<u16> = (0..40)
        .map(|i| reset(&server, &b, &format!("nobody{i}"), "AAAA-BBBB-CCCC"))
        .collect();
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let written = audit_count(&server, demo::SCHOOL) - before;
    assert_eq!(written, 0, "audit events written for made-up reset codes");

    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let path = "/schools/demo/users/teacher/reset-code";
    let issued = call(&server, Method::POST, path, Some(&gm), None);
    let code = issued.body["code"].as_str().unwrap().to_string();
    let before = audit_count(&server, demo::SCHOOL);
    assert_eq!(reset(&server, &b, "staff", &code), 400);
    assert_eq!(
        audit_count(&server, demo::SCHOOL) - before,
        1,
        "a real code misused"
    );
}

/// At the change step (a temporary password proved) each refused new password was audited
/// and, when it was one of the last ones, cost an argon2 check of each: without a count, one
/// login could send them without end (300 in 14 s on a debug build, never refused). A login
/// gets `MAX_CHANGE_TRIES`; then the request ends and the login starts again.
#[test]
fn the_change_step_gives_a_login_a_bounded_number_of_tries() {
    let server = start(Backend::Embedded, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let temporary = "Temp-pass-4821";
    let r = call(
        &server,
        Method::PATCH,
        "/schools/demo/users/teacher",
        Some(&gm),
        Some(json!({"password": temporary})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rp = server.portal();
    let b = browser();
    let form = rp.login_page(&b, &[]);
    let (status, location) = location_or_body(rp.submit_password(&b, &form, "teacher", temporary));
    assert_eq!(status, 303, "{location}");
    let change = |f: &LoginForm| {
        let fields = [
            ("req", f.req.as_str()),
            ("csrf", f.csrf.as_str()),
            ("new_password", temporary),
            ("new_password_again", temporary),
        ];
        let url = format!("{}/login/password", server.issuer(demo::SCHOOL));
        location_or_body(b.post(url).form(&fields).send().unwrap())
    };
    let before = audit_count(&server, demo::SCHOOL);
    let answers: Vec<(u16, String)> = (0..MAX_CHANGE_TRIES + 5).map(|_| change(&form)).collect();
    let reused = answers
        .iter()
        .filter(|(_, body)| body.contains("password_reused") || body.contains("用過"))
        .count() as u64;
    assert_eq!(
        reused,
        MAX_CHANGE_TRIES,
        "{:?}",
        &answers[answers.len() - 1]
    );
    assert!(
        answers[MAX_CHANGE_TRIES as usize..]
            .iter()
            .all(|(s, _)| *s == 400),
        "{answers:?}"
    );
    let written = (audit_count(&server, demo::SCHOOL) - before) as u64;
    assert!(written <= MAX_CHANGE_TRIES, "{written} events");
}

/// Two tabs (one browser) finishing the change step at once each set their password: 8 tabs
/// set 8 passwords (8 `user.password_changed` successes, 8 rows of history pushing the
/// earlier passwords out), one tab got the code, and the password that worked was the last
/// one written, most often not that tab's. The change is taken once per login.
#[test]
fn the_change_step_raced_from_several_tabs_sets_one_password() {
    change_step_race(Backend::Embedded);
}

#[test]
fn the_change_step_raced_sets_one_password_on_postgres_and_redis() {
    change_step_race(Backend::Real);
}

fn change_step_race(backend: Backend) {
    let server = start(backend, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let temporary = "Temp-pass-4821";
    let r = call(
        &server,
        Method::PATCH,
        "/schools/demo/users/teacher",
        Some(&gm),
        Some(json!({"password": temporary})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rp = server.portal();
    let b = browser();
    let form = rp.login_page(&b, &[]);
    let (status, _) = location_or_body(rp.submit_password(&b, &form, "teacher", temporary));
    assert_eq!(status, 303);
    let url = format!("{}/login/password", server.issuer(demo::SCHOOL));
    let before = changed_events(&server);
    let barrier = std::sync::Barrier::new(8);
    let answers: Vec<(String, bool)> = std::thread::scope(|scope| {
        let tabs: Vec<_> = (0..8)
            .map(|i| {
                let (b, form, url, barrier) = (&b, &form, &url, &barrier);
                scope.spawn(move || {
                    let new = format!("river-lantern-58-tab{i}");
                    let fields = [
                        ("req", form.req.as_str()),
                        ("csrf", form.csrf.as_str()),
                        ("new_password", new.as_str()),
                        ("new_password_again", new.as_str()),
                    ];
                    barrier.wait();
                    let (_, location) = location_or_body(b.post(url).form(&fields).send().unwrap());
                    (new, location.contains("code="))
                })
            })
            .collect();
        tabs.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let winners: Vec<&String> = answers.iter().filter(|a| a.1).map(|a| &a.0).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert_eq!(
        changed_events(&server) - before,
        1,
        "password changes recorded"
    );
    let r = rp.password_login(&browser(), &[], "teacher", winners[0]);
    assert_eq!(r.status(), 302, "the password of the tab that got the code");
}

/// `user.password_changed` successes of the demo school.
fn changed_events(server: &TestServer) -> usize {
    let provider = &server.state.provider;
    let school = server.demo_school();
    let all = block_on(provider.directory().audit_events(school.id, 0, 10_000)).unwrap();
    all.iter()
        .filter(|e| e.event == "user.password_changed" && e.outcome == "success")
        .count()
}

/// A GM sets the school portal's `backchannel_logout_uri`, and our sender then posts a logout
/// token there at every end of a session the portal got a token in: a link-local, private or
/// loopback address is taken (`https://169.254.169.254/…`, `https://10.0.0.5/…`,
/// `http://127.0.0.1:PORT/…` any port and path), and whether it answered 2xx is in the GM's
/// audit log (`logout.token_sent`). Now an address outside the public internet is refused
/// unless the operator lists its network (`[backchannel_logout] allowed_networks`); a host
/// name is checked when it is resolved (`backchannel::a_name_that_resolves_inside_is_not_sent_to`).
#[test]
fn a_gm_cannot_point_the_logout_sender_inside_the_network() {
    let server = start(Backend::Embedded, |c| {
        c.backchannel_logout.allowed_networks.clear();
    });
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let path = format!("/schools/demo/clients/{}", demo::CLIENT_ID);
    let got = call(&server, Method::GET, &path, Some(&gm), None);
    let mut client = got.body.clone();
    client.as_object_mut().unwrap().remove("etag");
    for uri in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5:8443/x",
        "https://[::1]/x",
    ] {
        client["backchannel_logout_uri"] = json!(uri);
        let r = call(&server, Method::PUT, &path, Some(&gm), Some(client.clone()));
        assert_eq!(r.status, 400, "{uri}: {}", r.body);
    }
}

/// With a minimum password age, the account page's change read the account before any of
/// several changes sent at once wrote it: 5 of 8 passed on the release build (3 more waited
/// on the present password's throttle) and pushed the earlier passwords out of a history of
/// 3 at once — the two rules that together stop a teacher cycling back to an old password.
/// One change per minimum age.
#[test]
fn changes_sent_at_once_do_not_pass_the_minimum_age() {
    let url = gpki_idp_store::testing::fresh_sqlite_url();
    let db = url.clone();
    let server = start(Backend::Embedded, move |c| c.database_url = Some(db));
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let rules = json!({"min_age_days": 1, "history": 3});
    let r = call(
        &server,
        Method::PUT,
        "/schools/demo/password-policy",
        Some(&gm),
        Some(rules),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The teacher's password is two days old.
    let aged = "UPDATE users SET password_changed_at = password_changed_at - 2 * 86400 \
                WHERE username = 'teacher'";
    gpki_idp_store::testing::run_sql(&url, aged);
    let rp = server.portal();
    let b = browser();
    rp.log_in(&b, "teacher");
    let account = format!("{}/account", server.issuer(demo::SCHOOL));
    let csrf = hidden(&b.get(&account).send().unwrap().text().unwrap(), "csrf");
    let url = format!("{}/account/password", server.issuer(demo::SCHOOL));
    let before = changed_events(&server);
    let barrier = std::sync::Barrier::new(4);
    std::thread::scope(|scope| {
        for i in 0..4 {
            let (b, url, csrf, barrier) = (&b, &url, &csrf, &barrier);
            scope.spawn(move || {
                let new = format!("river-lantern-58-own{i}");
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("current_password", demo::PASSWORD),
                    ("new_password", new.as_str()),
                    ("new_password_again", new.as_str()),
                ];
                barrier.wait();
                b.post(url).form(&fields).send().unwrap();
            });
        }
    });
    assert_eq!(
        changed_events(&server) - before,
        1,
        "changes within the minimum age"
    );
}
