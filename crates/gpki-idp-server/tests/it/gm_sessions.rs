//! A GM (or a district operator) ends every session of one account at once: through the
//! admin API (`POST …/users/{username}/sessions/end`) and on the GM page 登入中的裝置. Each
//! session ended is audited and its portal told (Back-Channel Logout); the account's other
//! sessions stay, and nobody outside the school can do it.

use std::time::Duration;

use gpki_idp_server::demo;
use reqwest::Method;
use serde_json::Value;

use crate::backchannel::{log_in, quick, set_backchannel, verify, Portal};
use crate::support::admin::{call, district_token, token};
use crate::support::card::portal;
use crate::support::http::{claims_of, hidden};
use crate::support::server::OTHER_SCHOOL;
use crate::support::{block_on, browser, start, Backend, TestServer};

/// The live sessions of `username` at the demo school, as the admin API lists them.
fn sessions_of(server: &TestServer, bearer: &str, username: &str) -> Vec<Value> {
    let listed = call(
        server,
        Method::GET,
        &format!("/schools/demo/sessions?username={username}"),
        Some(bearer),
        None,
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["items"].as_array().unwrap().clone()
}

fn end_all_through_the_api(backend: Backend) {
    let portal = Portal::start(vec![]);
    let server = start(backend, quick);
    let issuer = server.issuer(demo::SCHOOL);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &portal.url);
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let other_gm = token(&server, OTHER_SCHOOL, "other-gm", &["admin"]);
    let users_only = token(&server, demo::SCHOOL, "hr", &["admin:users"]);

    let (_, _, first) = log_in(&server, "teacher");
    let (_, _, second) = log_in(&server, "teacher");
    let (_, _, _staff) = log_in(&server, "staff");
    assert_eq!(sessions_of(&server, &gm, "teacher").len(), 2);

    // A GM of another school: not found, as for a school that does not exist; a token
    // without the `admin` scope: refused. Nothing ends.
    let path = "/schools/demo/users/teacher/sessions/end";
    let foreign = call(&server, Method::POST, path, Some(&other_gm), None);
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    assert_eq!(foreign.body["error"], "not_found", "{}", foreign.body);
    let narrow = call(&server, Method::POST, path, Some(&users_only), None);
    assert_eq!(narrow.status, 403, "{}", narrow.body);
    assert_eq!(sessions_of(&server, &gm, "teacher").len(), 2);
    std::thread::sleep(Duration::from_millis(500));
    assert!(portal.tokens().is_empty(), "no portal told of anything");

    // The GM ends both of the teacher's sessions; the staff's stays.
    let ended = call(&server, Method::POST, path, Some(&gm), None);
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.body["ended"], 2, "{}", ended.body);
    assert!(sessions_of(&server, &gm, "teacher").is_empty());
    assert_eq!(sessions_of(&server, &gm, "staff").len(), 1);
    let mut told: Vec<String> = (1..=2)
        .map(|n| {
            let t = portal.nth(n, Duration::from_secs(10));
            let sid = claims_of(&t)["sid"].as_str().unwrap().to_string();
            let id = if sid == first["sid"] { &first } else { &second };
            verify(&issuer, demo::CLIENT_ID, &t, id);
            sid
        })
        .collect();
    told.sort();
    let mut expected = vec![
        first["sid"].as_str().unwrap().to_string(),
        second["sid"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(told, expected, "the portal is told of each, and only those");

    // Audited: one `session.end` per session, by the GM's client, about the teacher.
    let audit = call(
        &server,
        Method::GET,
        "/schools/demo/audit?event=session.end&user=teacher",
        Some(&gm),
        None,
    );
    let events = audit.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", audit.body);
    assert!(
        events.iter().all(|e| e["actor"] == "client:gm-service"
            && e["detail"]["before"]["id"].is_string()
            && e["detail"]["reason"] == "admin"),
        "{}",
        audit.body
    );

    // Again: nothing left to end. An unknown account: not found.
    let again = call(&server, Method::POST, path, Some(&gm), None);
    assert_eq!(again.body["ended"], 0, "{}", again.body);
    let nobody = call(
        &server,
        Method::POST,
        "/schools/demo/users/nobody/sessions/end",
        Some(&gm),
        None,
    );
    assert_eq!(nobody.status, 404, "{}", nobody.body);

    // A district operator ends the sessions of an account of any school.
    let ops = district_token(&server);
    let (_, _, third) = log_in(&server, "teacher");
    let by_ops = call(&server, Method::POST, path, Some(&ops), None);
    assert_eq!(by_ops.body["ended"], 1, "{}", by_ops.body);
    verify(
        &issuer,
        demo::CLIENT_ID,
        &portal.nth(3, Duration::from_secs(10)),
        &third,
    );
    assert_eq!(sessions_of(&server, &gm, "staff").len(), 1);
}

#[test]
fn a_gm_ends_every_session_of_an_account_on_sqlite() {
    end_all_through_the_api(Backend::Embedded);
}

#[test]
fn a_gm_ends_every_session_of_an_account_on_postgres() {
    end_all_through_the_api(Backend::Real);
}

/// The sessions listed on the page (rows of its table).
fn rows(html: &str) -> usize {
    html.matches("<tr><td>").count()
}

/// The id in the first form that ends one session.
fn first_session_id(html: &str) -> String {
    let marker = "/admin/sessions/";
    html.match_indices(marker)
        .map(|(i, _)| &html[i + marker.len()..])
        .find(|rest| rest.len() > 64 && rest[64..].starts_with("/end\""))
        .map(|rest| rest[..64].to_string())
        .expect("a form ending one session")
}

/// `YYYY-MM-DD HH:MM` in Taiwan time, `ago` seconds before now.
fn taiwan_minute(ago: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    (time::OffsetDateTime::now_utc() - time::Duration::seconds(ago))
        .to_offset(offset)
        .format(format)
        .unwrap()
}

#[test]
fn the_gm_page_lists_and_ends_sessions() {
    let rp = Portal::start(vec![]);
    let server = start(Backend::Embedded, quick);
    set_backchannel(&server, demo::SCHOOL, demo::CLIENT_ID, &rp.url);
    let issuer = server.issuer(demo::SCHOOL);
    let url = format!("{issuer}/admin/sessions");
    let (teacher, _, first) = log_in(&server, "teacher");
    let (_, _, second) = log_in(&server, "teacher");
    let _staff = log_in(&server, "staff");
    let gm = browser();
    portal(&server).log_in(&gm, "gm");

    // Every live session of the school: the teachers' two, the staff's, the GM's own; in
    // Taiwan time, with the portal each reached.
    let page = gm.get(&url).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert!(html.contains("登入中的裝置"), "{html}");
    assert_eq!(rows(&html), 4, "{html}");
    assert!(
        [0, 60]
            .iter()
            .any(|ago| html.contains(&taiwan_minute(*ago))),
        "the time of the login in Taiwan time: {html}"
    );
    assert!(
        html.contains(demo::CLIENT_ID) && html.contains("127.0.0.1"),
        "{html}"
    );
    // Filtered by account; an unknown account is said so.
    let html = gm
        .get(format!("{url}?username=teacher"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(rows(&html), 2, "{html}");
    let csrf = hidden(&html, "csrf");
    let html = gm
        .get(format!("{url}?username=nobody"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(html.contains("查無此帳號") && rows(&html) == 0, "{html}");
    let odd = gm
        .get(format!("{url}?username=%3Cb%3E{}", "x".repeat(80)))
        .send()
        .unwrap();
    assert_eq!(odd.status(), 200);
    let html = odd.text().unwrap();
    assert!(
        html.contains("查無此帳號") && !html.contains("<b>x"),
        "{html}"
    );

    // A teacher who is not the GM sees nothing and ends nothing, even with a CSRF value.
    let account = teacher.get(format!("{issuer}/account")).send().unwrap();
    let teacher_csrf = hidden(&account.text().unwrap(), "csrf");
    let denied = teacher.get(&url).send().unwrap();
    assert_eq!(denied.status(), 403);
    assert!(denied.text().unwrap().contains("無法開啟登入中的裝置"));
    let refused = teacher
        .post(format!("{url}/end-all"))
        .form(&[("csrf", teacher_csrf.as_str()), ("username", "staff")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    // The GM's form without its CSRF value: refused, nothing ends.
    let forged = gm
        .post(format!("{url}/end-all"))
        .form(&[("csrf", "A".repeat(32).as_str()), ("username", "teacher")])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
    let html = gm.get(&url).send().unwrap().text().unwrap();
    assert_eq!(rows(&html), 4, "nothing ended: {html}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(rp.tokens().is_empty());

    // The GM ends one of the teacher's sessions; the portal is told.
    let html = gm
        .get(format!("{url}?username=teacher"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let id = first_session_id(&html);
    let ended = gm
        .post(format!("{url}/{id}/end"))
        .form(&[("csrf", csrf.as_str()), ("username", "teacher")])
        .send()
        .unwrap();
    assert_eq!(ended.status(), 200);
    let html = ended.text().unwrap();
    assert!(
        html.contains("已登出的裝置數") && rows(&html) == 1,
        "{html}"
    );
    let sid = |t: &str| claims_of(t)["sid"].as_str().unwrap().to_string();
    let told = sid(&rp.nth(1, Duration::from_secs(10)));
    assert!(told == first["sid"] || told == second["sid"], "{told}");

    // … and every session of the account: the teacher's last one, not the staff's.
    let all = gm
        .post(format!("{url}/end-all"))
        .form(&[("csrf", csrf.as_str()), ("username", "teacher")])
        .send()
        .unwrap();
    assert_eq!(all.status(), 200);
    let html = all.text().unwrap();
    assert!(
        html.contains("已登出的裝置數") && rows(&html) == 0,
        "{html}"
    );
    let last = sid(&rp.nth(2, Duration::from_secs(10)));
    assert_ne!(last, told);
    assert!(last == first["sid"] || last == second["sid"], "{last}");
    let html = gm.get(&url).send().unwrap().text().unwrap();
    assert_eq!(rows(&html), 2, "the staff's and the GM's stay: {html}");
    assert!(!html.contains("<tr><td>teacher<"), "{html}");

    // Audited with the GM as actor and the page as client.
    let school = server.demo_school();
    let events = block_on(
        server
            .state
            .provider
            .directory()
            .audit_events(school.id, 0, 1000),
    )
    .unwrap();
    let by_page: Vec<_> = events
        .iter()
        .filter(|e| e.client_id.as_deref() == Some("page:sessions"))
        .map(|e| {
            (
                e.event.as_str(),
                e.actor.as_str(),
                e.subject_user.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        by_page,
        [
            ("session.revoke", "gm", Some("teacher")),
            ("session.end", "gm", Some("teacher"))
        ]
    );
}

/// The background round prunes a session expired more than a day ago, counted in
/// `gpki_sessions_pruned_total`; a live one and one expired within the day stay.
#[test]
fn expired_sessions_are_pruned_in_the_background() {
    let server = start(Backend::Embedded, |_| {});
    let (_, _, live) = log_in(&server, "teacher");
    block_on(async {
        let state = &server.state;
        let dir = &state.provider.directory();
        let school = dir.school_by_code(demo::SCHOOL).await.unwrap().unwrap();
        let user = dir
            .user_by_username(school.id, "staff")
            .await
            .unwrap()
            .unwrap();
        let now = gpki_idp_core::now();
        for (digit, expires_at) in [("a", now - 2 * 86400), ("b", now - 3600)] {
            let s = gpki_idp_core::model::SessionRecord {
                id: digit.repeat(64),
                school_id: school.id,
                user_id: user.id,
                acr: "urn:gpki-idp:acr:password".into(),
                amr: vec!["pwd".into()],
                auth_time: expires_at - 3600,
                expires_at,
                ..Default::default()
            };
            let e = gpki_idp_core::audit::AuditEvent::new(school.id, "test", "success", "t");
            let audit = gpki_idp_core::audit::Audit::event(e);
            dir.add_session(s, audit).await.unwrap();
        }
        gpki_idp_server::maintenance::prune_sessions_once(state).await;
        assert_eq!(state.metrics.sessions_pruned.get(), 1);
        let kept = |id: String| async move { dir.session_by_id(school.id, &id).await.unwrap() };
        assert!(kept("a".repeat(64)).await.is_none(), "expired two days ago");
        assert!(
            kept("b".repeat(64)).await.is_some(),
            "expired within the day"
        );
    });
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let listed = sessions_of(&server, &gm, "teacher");
    assert_eq!(listed.len(), 1, "the live session stays: {live}");
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("gpki_sessions_pruned_total 1"),
        "{metrics}"
    );
}
