//! Enrollment codes and certificate bindings.

use reqwest::Method;
use serde_json::json;

use crate::support::admin::call;
use crate::support::TestServer;

pub(super) fn codes_and_certificates(server: &TestServer, gm: &str) {
    let issued = call(
        server,
        Method::POST,
        "/schools/demo/users/teacher/enrollment-codes",
        Some(gm),
        Some(json!({"hours": 2})),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let code = issued.body["code"].as_str().unwrap().to_string();
    let listed = call(
        server,
        Method::GET,
        "/schools/demo/enrollment-codes",
        Some(gm),
        None,
    );
    let item = &listed.body["items"][0];
    assert_eq!(item["username"], "teacher");
    assert_eq!(item["used"], false);
    assert!(
        !listed.body.to_string().contains(&code),
        "the code is shown once only"
    );
    let path = format!("/schools/demo/enrollment-codes/{}", issued.body["id"]);
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        204
    );
    assert_eq!(
        call(server, Method::DELETE, &path, Some(gm), None).status,
        404
    );
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users/teacher/enrollment-codes",
            Some(gm),
            Some(json!({"hours": 0}))
        )
        .status,
        400
    );
    let certs = call(
        server,
        Method::GET,
        "/schools/demo/certificates",
        Some(gm),
        None,
    );
    assert_eq!(certs.body["items"], json!([]));
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/certificates/999",
            Some(gm),
            None
        )
        .status,
        404
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/certificates/abc",
            Some(gm),
            None
        )
        .status,
        400
    );
}
