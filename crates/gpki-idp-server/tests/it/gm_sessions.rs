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
use crate::support::server::OTHER_SCHOOL;
use crate::support::{start, Backend, TestServer};

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
            let sid = crate::support::http::claims_of(&t)["sid"]
                .as_str()
                .unwrap()
                .to_string();
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
        events
            .iter()
            .all(|e| e["actor"] == "client:gm-service" && e["detail"]["before"]["id"].is_string()),
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
