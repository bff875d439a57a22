//! District operators: schools created, listed and disabled, keys rotated, every school
//! reached; the `district` scope is not to be had from an ordinary school.

use gpki_idp_server::demo;
use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::json;

use crate::support::admin::{call, client_token, district_token, service_client, token};
use crate::support::{start, Backend};

#[test]
fn district_operators_manage_schools_and_keys() {
    let server = start(Backend::Embedded, |_| {});
    let ops = district_token(&server);
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    assert_eq!(
        call(&server, Method::GET, "/me", Some(&ops), None).body["district"],
        true
    );
    let created = call(
        &server,
        Method::POST,
        "/schools",
        Some(&ops),
        Some(json!({"code": "new-school", "name": "新國小"})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&ops),
            Some(json!({"code": "new-school", "name": "again"}))
        )
        .status,
        409
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&ops),
            Some(json!({"code": "Bad Code", "name": "x"}))
        )
        .status,
        400
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/schools",
            Some(&gm),
            Some(json!({"code": "mine", "name": "x"}))
        )
        .status,
        403
    );
    let listed = call(&server, Method::GET, "/schools", Some(&ops), None);
    let codes: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"new-school") && codes.contains(&"demo"));
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        server.issuer("new-school")
    );
    assert_eq!(
        Http::new()
            .get(&discovery)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let keys = call(
        &server,
        Method::GET,
        "/schools/new-school/keys",
        Some(&ops),
        None,
    );
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 2);
    let rotated = call(
        &server,
        Method::POST,
        "/schools/new-school/keys/rotate",
        Some(&ops),
        Some(json!({"alg": "ES256"})),
    );
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let keys = call(
        &server,
        Method::GET,
        "/schools/new-school/keys",
        Some(&ops),
        None,
    );
    assert_eq!(keys.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        call(
            &server,
            Method::GET,
            "/schools/demo/users/teacher",
            Some(&ops),
            None
        )
        .status,
        200,
        "every school"
    );

    let disabled = call(
        &server,
        Method::PATCH,
        "/schools/new-school",
        Some(&ops),
        Some(json!({"disabled": true})),
    );
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(
        Http::new()
            .get(&discovery)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        call(
            &server,
            Method::PATCH,
            "/schools/demo",
            Some(&gm),
            Some(json!({"name": "x"}))
        )
        .status,
        403
    );

    // A `district` scope cannot be had from an ordinary school.
    let secret = service_client(&server, demo::SCHOOL, "pretender", &[]);
    assert_eq!(
        client_token(&server, demo::SCHOOL, "pretender", &secret, "district").0,
        400
    );
    let events = call(
        &server,
        Method::GET,
        "/schools/new-school/audit",
        Some(&ops),
        None,
    );
    let kinds: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["school.create", "key.rotate", "school.update"]);
}
