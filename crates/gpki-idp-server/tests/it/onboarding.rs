//! Onboarding a district's schools from one list: through the admin API (dry run, all or
//! nothing, a report per row, district operators only, a second run) on both backends, and
//! through `gpki-idp admin onboard-schools`.

use std::process::Command;

use gpki_idp_server::demo;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::admin::{call, district_token, send_raw, token};
use crate::support::{block_on, start, Backend, TestServer};

const LIST: &str = "code,name,gm_username,gm_name\n\
                    d-east-es,東區國小,gm.east,東區國小資訊組\n\
                    d-west-es,西區國小,,\n\
                    d-north-jh,\"北區國中, 附設幼兒園\",gm.north,北區國中資訊組\n";

fn onboard(server: &TestServer, bearer: &str, csv: &str, dry_run: bool) -> (u16, Value) {
    let path = format!("/onboarding/schools?dry_run={dry_run}");
    let a = send_raw(server, Method::POST, &path, bearer, "text/csv", csv.into());
    (a.status, a.body)
}

fn exists(server: &TestServer, code: &str) -> bool {
    block_on(server.state.provider.directory().school_by_code(code))
        .unwrap()
        .is_some()
}

fn statuses(report: &Value) -> Vec<&str> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

fn onboards_a_district(backend: Backend) {
    let server = start(backend, |_| {});
    let ops = district_token(&server);

    let (status, dry) = onboard(&server, &ops, LIST, true);
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["written"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(statuses(&dry), ["created", "created", "created"]);
    assert!(dry["rows"][0]["gm_password"].is_null());
    assert!(!exists(&server, "d-east-es"), "a dry run writes nothing");

    // One bad row (and one repeated code) refuses the whole list.
    let bad = format!("{LIST}Bad Code,壞學校,,\nd-west-es,重複,,\n");
    let (status, refused) = onboard(&server, &ops, &bad, false);
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"], "invalid_rows");
    assert_eq!(refused["written"], false);
    assert_eq!(refused["rows"][3]["row"], 4);
    assert_eq!(refused["rows"][3]["error"], "invalid_code");
    assert_eq!(refused["rows"][4]["error"], "duplicate_code");
    assert!(!exists(&server, "d-east-es"), "all or nothing");

    let (status, done) = onboard(&server, &ops, LIST, false);
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["written"].as_bool(), done["created"].as_u64()),
        (Some(true), Some(3))
    );
    let password = done["rows"][0]["gm_password"].as_str().unwrap().to_string();
    assert!(
        done["rows"][1]["gm_password"].is_null(),
        "no GM named, none made"
    );
    let provider = &server.state.provider;
    let east = block_on(provider.directory().school_by_code("d-east-es"))
        .unwrap()
        .unwrap();
    let gm = block_on(provider.directory().user_by_username(east.id, "gm.east"))
        .unwrap()
        .unwrap();
    assert_eq!(gm.roles, ["admin"]);
    assert!(
        gm.password_must_change,
        "onboarding's GM password is temporary"
    );
    assert!(gpki_idp_core::password::verify(
        gm.password_hash.as_deref(),
        &password
    ));
    let events = block_on(provider.directory().audit_events(east.id, 0, 100)).unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["school.create", "user.create"]);
    assert!(!events
        .iter()
        .any(|e| e.detail.to_string().contains(&password)));

    // Each new school is an issuer with both keys.
    let jwks: Value = reqwest::blocking::Client::new()
        .get(format!("{}/jwks", server.issuer("d-north-jh")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");

    // The same list again, with one more school: the three are left as they are.
    let more = format!("{LIST}d-south-es,南區國小,gm.south,南區國小資訊組\n");
    let (status, again) = onboard(&server, &ops, &more, false);
    assert_eq!(status, 200, "{again}");
    assert_eq!(statuses(&again), ["exists", "exists", "exists", "created"]);
    assert!(again["rows"][0]["gm_password"].is_null());
    assert!(again["rows"][3]["gm_password"].is_string());
    // A code that belongs to another school is not taken over.
    let (status, taken) = onboard(&server, &ops, "code,name\nd-west-es,別的名字\n", true);
    assert_eq!(
        (status, taken["rows"][0]["error"].as_str()),
        (200, Some("code_taken"))
    );
}

#[test]
fn a_district_operator_onboards_schools_on_sqlite() {
    onboards_a_district(Backend::Embedded);
}

#[test]
fn a_district_operator_onboards_schools_on_postgres() {
    onboards_a_district(Backend::Real);
}

#[test]
fn only_district_operators_onboard_and_bodies_are_checked() {
    let server = start(Backend::Embedded, |_| {});
    let ops = district_token(&server);
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let (status, body) = onboard(&server, &gm, LIST, true);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, _) = onboard(&server, &gm, LIST, false);
    assert_eq!(status, 403);
    assert!(!exists(&server, "d-east-es"));
    assert_eq!(onboard(&server, &ops, "code,address\n", true).0, 400);
    let rows = json!([{"code": "j-es", "name": "JSON 國小"}]);
    let json_rows = call(
        &server,
        Method::POST,
        "/onboarding/schools",
        Some(&ops),
        Some(rows),
    );
    assert_eq!(json_rows.status, 200);
    assert!(exists(&server, "j-es"));
    let xml = send_raw(
        &server,
        Method::POST,
        "/onboarding/schools",
        &ops,
        "application/xml",
        "<schools/>".into(),
    );
    assert_eq!(xml.status, 415);
}

fn cli(dir: &std::path::Path, csv: &std::path::Path, dry_run: bool) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpki-idp"));
    cmd.args(["admin", "onboard-schools", "--data-dir"])
        .arg(dir)
        .arg("--csv")
        .arg(csv);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_cli_onboards_from_a_csv_file() {
    let dir = std::env::temp_dir().join(format!("gpki-onboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("schools.csv");
    std::fs::write(&csv, LIST).unwrap();

    let (ok, out, err) = cli(&dir, &csv, true);
    assert!(ok, "{err}");
    assert!(out.contains("3 new, 0 existing, 0 wrong; dry run"), "{out}");
    assert!(!out.contains("password"), "{out}");

    let (ok, out, err) = cli(&dir, &csv, false);
    assert!(ok, "{err}");
    assert!(
        out.contains("GM gm.east temporary password (shown once, changed at the first login): "),
        "{out}"
    );
    assert!(
        out.contains("GM gm.north temporary password (shown once, changed at the first login): "),
        "{out}"
    );
    assert!(out.contains("3 new, 0 existing, 0 wrong; written"), "{out}");

    let (ok, out, _) = cli(&dir, &csv, false);
    assert!(ok);
    assert!(
        out.contains("0 new, 3 existing, 0 wrong; nothing to write"),
        "{out}"
    );

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "code,name\nnew-es,新國小\nBAD,壞\n").unwrap();
    let (ok, _, err) = cli(&dir, &bad, false);
    assert!(!ok);
    assert!(err.contains("row 2\tBAD\terror\tinvalid_code"), "{err}");
    assert!(err.contains("nothing written"), "{err}");
    let good = dir.join("good.csv");
    std::fs::write(&good, "code,name\nnew-es,新國小\n").unwrap();
    let (ok, out, _) = cli(&dir, &good, true);
    assert!(
        ok && out.contains("1 new, 0 existing"),
        "new-es was not written: {out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
