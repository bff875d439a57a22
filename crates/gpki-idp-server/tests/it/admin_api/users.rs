//! Roles and users: create, change, disable, pages, search; the bulk import of CSV and JSON
//! with a dry run, and of 5,000 users into PostgreSQL.

use gpki_idp_server::demo;
use reqwest::Method;
use serde_json::json;

use crate::support::admin::{call, send_raw, token, Answer};
use crate::support::{start, Backend, TestServer};

pub(super) fn roles_and_users(server: &TestServer, gm: &str) {
    assert_eq!(
        call(
            server,
            Method::PUT,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        201
    );
    assert_eq!(
        call(
            server,
            Method::PUT,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        200
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/roles/teacher",
            Some(gm),
            None
        )
        .status,
        400
    );
    let new = json!({"username": "lib1", "display_name": "圖書館員", "roles": ["librarian"], "password": "long-enough-1"});
    let created = call(
        server,
        Method::POST,
        "/schools/demo/users",
        Some(gm),
        Some(new.clone()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["has_password"], true);
    assert!(
        created.body.get("password").is_none()
            && !created.body.to_string().contains("long-enough-1")
    );
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users",
            Some(gm),
            Some(new)
        )
        .status,
        409
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/roles/librarian",
            Some(gm),
            None
        )
        .status,
        409,
        "in use"
    );
    for bad in [
        json!({"username": "a b", "display_name": "x", "roles": ["teacher"]}),
        json!({"username": "ok", "display_name": "x", "roles": ["wizard"]}),
        json!({"username": "ok", "display_name": "x", "roles": ["teacher"], "password": "short"}),
        json!({"username": "ok", "display_name": "", "roles": ["teacher"]}),
    ] {
        assert_eq!(
            call(
                server,
                Method::POST,
                "/schools/demo/users",
                Some(gm),
                Some(bad.clone())
            )
            .status,
            400,
            "{bad}"
        );
    }
    let patched = call(
        server,
        Method::PATCH,
        "/schools/demo/users/lib1",
        Some(gm),
        Some(json!({"disabled": true, "password": null})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["disabled"], true);
    assert_eq!(patched.body["has_password"], false);
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users/nobody",
            Some(gm),
            None
        )
        .status,
        404
    );
    let roles = call(server, Method::GET, "/schools/demo/roles", Some(gm), None);
    let librarian = roles.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "librarian")
        .unwrap()
        .clone();
    assert_eq!(
        librarian,
        json!({"role": "librarian", "builtin": false, "users": 1})
    );

    // Pages: one user at a time, following next_cursor to the end.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/schools/demo/users?limit=1&cursor={c}"),
            None => "/schools/demo/users?limit=1".into(),
        };
        let page = call(server, Method::GET, &path, Some(gm), None);
        assert_eq!(page.status, 200);
        for u in page.body["items"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(seen.contains(&"teacher".to_string()) && seen.contains(&"lib1".to_string()));
    let found = call(
        server,
        Method::GET,
        "/schools/demo/users?q=lib",
        Some(gm),
        None,
    );
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users?limit=0",
            Some(gm),
            None
        )
        .status,
        400
    );
}

pub(super) fn import(server: &TestServer, gm: &str, csv: &str, dry_run: bool) -> Answer {
    let path = format!("/schools/demo/users/import?dry_run={dry_run}");
    send_raw(server, Method::POST, &path, gm, "text/csv", csv.into())
}

pub(super) fn import_with_dry_run(server: &TestServer, gm: &str) {
    let csv = "username,display_name,roles\nnew1,新老師,teacher\nteacher,王小明（改）,teacher;staff\nbad1,X,wizard\n";
    let dry = import(server, gm, csv, true);
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(
        (
            dry.body["created"].as_u64(),
            dry.body["updated"].as_u64(),
            dry.body["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(dry.body["rows"][2]["error"], "unknown_role");
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/users/new1",
            Some(gm),
            None
        )
        .status,
        404,
        "a dry run writes nothing"
    );
    let real = import(server, gm, csv, false);
    assert_eq!(real.body["created"], 1);
    let teacher = call(
        server,
        Method::GET,
        "/schools/demo/users/teacher",
        Some(gm),
        None,
    );
    assert_eq!(teacher.body["roles"], json!(["teacher", "staff"]));
    assert_eq!(
        teacher.body["has_password"], true,
        "imports never touch passwords"
    );
    let again = import(server, gm, csv, false);
    assert_eq!(again.body["unchanged"], 2);
    assert_eq!(import(server, gm, "user,name\n", false).status, 400);
    let path = "/schools/demo/users/import";
    let wrong_type = send_raw(
        server,
        Method::POST,
        path,
        gm,
        "application/xml",
        "<users/>".into(),
    );
    assert_eq!(wrong_type.status, 415);
    let rows = json!([{"username": "new2", "display_name": "另一位", "roles": ["staff"]}, {"username": "x"}]);
    let json_rows = call(server, Method::POST, path, Some(gm), Some(rows)).body;
    assert_eq!(
        (json_rows["created"].as_u64(), json_rows["failed"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn bulk_import_of_5000_users_into_postgres() {
    let server = start(Backend::Real, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let mut csv = String::from("username,display_name,roles,disabled\n");
    for i in 0..5000 {
        csv.push_str(&format!("t{i:05},教師{i},teacher,false\n"));
    }
    for i in 0..10 {
        csv.push_str(&format!("bad {i},壞資料,teacher,false\n"));
    }
    let started = std::time::Instant::now();
    let report = import(&server, &gm, &csv, false);
    let took = started.elapsed();
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["created"], 5000);
    assert_eq!(report.body["failed"], 10);
    assert_eq!(report.body["rows"][5000]["error"], "invalid_username");
    println!(
        "import of 5,000 users into PostgreSQL: {:.2} s",
        took.as_secs_f64()
    );
    let last = call(
        &server,
        Method::GET,
        "/schools/demo/users/t04999",
        Some(&gm),
        None,
    );
    assert_eq!(last.body["display_name"], "教師4999");
    let again = import(&server, &gm, &csv, false);
    assert_eq!(again.body["unchanged"], 5000);
}
