//! Clients: create, replace with If-Match, rotate the secret, delete; what a service client
//! with `admin:users` may and may not do; the ID token's algorithm under its standard name.

use gpki_idp_server::demo;
use openidconnect::core::{CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};
use reqwest::Method;
use serde_json::{json, Value};

use super::code_flow;
use super::users::import;
use crate::support::admin::{call, client_token, put_if_match, token};
use crate::support::http::header_of;
use crate::support::{http, start, Backend, TestServer, REDIRECT};

pub(super) fn clients_with_secrets(server: &TestServer, gm: &str) {
    let input = json!({"client_id": "sync", "name": "校務同步", "redirect_uris": [], "grant_types": ["client_credentials"], "allowed_scopes": ["admin:users"]});
    let created = call(
        server,
        Method::POST,
        "/schools/demo/clients",
        Some(gm),
        Some(input.clone()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let first = created.body["client_secret"].as_str().unwrap().to_string();
    let tag = created.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(input.clone())
        )
        .status,
        409
    );
    // The service client gets only what it was granted, and uses it.
    let (status, body) = client_token(server, "demo", "sync", &first, "admin:users");
    assert_eq!(status, 200, "{body}");
    let sync = body["access_token"].as_str().unwrap();
    assert_eq!(
        call(server, Method::GET, "/schools/demo/users", Some(sync), None).status,
        200
    );
    // admin:users cannot make a GM, nor touch one: that would be a way to the admin scope.
    let gm_again = json!({"username": "gm2", "display_name": "x", "roles": ["admin"], "password": "long-enough-2"});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/users",
            Some(sync),
            Some(gm_again)
        )
        .status,
        403
    );
    let reset = json!({"password": "taken-over-1"});
    assert_eq!(
        call(
            server,
            Method::PATCH,
            "/schools/demo/users/gm",
            Some(sync),
            Some(reset)
        )
        .status,
        403
    );
    let promote = json!({"roles": ["teacher", "admin"]});
    assert_eq!(
        call(
            server,
            Method::PATCH,
            "/schools/demo/users/new1",
            Some(sync),
            Some(promote)
        )
        .status,
        403
    );
    let csv = "username,display_name,roles\ngm,陳校長,teacher\n";
    let report = import(server, sync, csv, false);
    assert_eq!(
        report.body["rows"][0]["error"],
        "admin_role_needs_admin_scope"
    );
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/clients",
            Some(sync),
            None
        )
        .status,
        403
    );
    assert_eq!(
        client_token(server, "demo", "sync", &first, "admin").0,
        400,
        "not granted"
    );

    let mut changed = input.clone();
    changed["name"] = json!("校務同步（新）");
    let stale = put_if_match(
        server,
        "/schools/demo/clients/sync",
        gm,
        changed.clone(),
        "\"old\"",
    );
    assert_eq!(stale.status, 412);
    let put = put_if_match(server, "/schools/demo/clients/sync", gm, changed, &tag);
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"], "校務同步（新）");

    let rotated = call(
        server,
        Method::POST,
        "/schools/demo/clients/sync/secret",
        Some(gm),
        None,
    );
    let second = rotated.body["client_secret"].as_str().unwrap();
    assert_eq!(
        client_token(server, "demo", "sync", &first, "").0,
        401,
        "the old secret stops"
    );
    assert_eq!(client_token(server, "demo", "sync", second, "").0, 200);
    let bad = json!({"name": "x", "redirect_uris": ["http://evil.example/cb"], "grant_types": ["authorization_code"]});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(bad)
        )
        .status,
        400
    );
    let grab = json!({"name": "x", "redirect_uris": [], "grant_types": ["client_credentials"], "allowed_scopes": ["district"]});
    assert_eq!(
        call(
            server,
            Method::POST,
            "/schools/demo/clients",
            Some(gm),
            Some(grab)
        )
        .status,
        400
    );
    assert_eq!(
        call(
            server,
            Method::DELETE,
            "/schools/demo/clients/sync",
            Some(gm),
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(
            server,
            Method::GET,
            "/schools/demo/clients/sync",
            Some(gm),
            None
        )
        .status,
        404
    );
    assert_eq!(client_token(server, "demo", "sync", second, "").0, 401);
}

/// A client registered with the standard `id_token_signed_response_alg` (OpenID Connect
/// Dynamic Client Registration 1.0 §2): it is shown under both names, ES256 signs its ID
/// tokens, an update by the same name takes effect, and a body whose two names disagree is
/// refused.
#[test]
fn the_signing_alg_by_its_standard_name() {
    let server = start(Backend::Embedded, |_| {});
    let gm = token(&server, demo::SCHOOL, "gm-service", &["admin"]);
    let mut input = json!({"client_id": "es-portal", "name": "ES256 校務系統", "redirect_uris": [REDIRECT], "grant_types": ["authorization_code"], "require_pkce": false, "id_token_signed_response_alg": "ES256"});
    let path = "/schools/demo/clients";
    let created = call(&server, Method::POST, path, Some(&gm), Some(input.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["id_token_signed_response_alg"], "ES256");
    assert_eq!(
        created.body["id_token_alg"], "ES256",
        "the alias answers too"
    );
    let secret = created.body["client_secret"].as_str().unwrap().to_string();

    let id_token = es_portal_id_token(&server, &secret);
    assert_eq!(header_of(&id_token)["alg"], "ES256");
    verify_es256(&server, &secret, &id_token);

    // Both names, different values: refused on create and on update, nothing changed.
    let mut conflict = input.clone();
    conflict["client_id"] = json!("es-portal-2");
    conflict["id_token_alg"] = json!("RS256");
    let refused = call(
        &server,
        Method::POST,
        path,
        Some(&gm),
        Some(conflict.clone()),
    );
    assert_refused_as_conflict(&refused.status, &refused.body);
    conflict["client_id"] = json!("es-portal");
    let one = "/schools/demo/clients/es-portal";
    let refused = call(&server, Method::PUT, one, Some(&gm), Some(conflict));
    assert_refused_as_conflict(&refused.status, &refused.body);
    let got = call(&server, Method::GET, one, Some(&gm), None);
    assert_eq!(got.body["id_token_signed_response_alg"], "ES256");

    // Both names with the same value are one setting; the standard name updates it.
    input["id_token_alg"] = json!("ES256");
    assert_eq!(
        call(&server, Method::PUT, one, Some(&gm), Some(input.clone())).status,
        200
    );
    input["id_token_signed_response_alg"] = json!("RS256");
    input.as_object_mut().unwrap().remove("id_token_alg");
    let put = call(&server, Method::PUT, one, Some(&gm), Some(input));
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["id_token_alg"], "RS256");
    let id_token = es_portal_id_token(&server, &secret);
    assert_eq!(header_of(&id_token)["alg"], "RS256");
}

fn assert_refused_as_conflict(status: &u16, body: &Value) {
    assert_eq!(*status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("id_token_signed_response_alg")
            && description.contains("id_token_alg"),
        "{description}"
    );
}

/// The teacher logs in at `es-portal`: its ID token.
fn es_portal_id_token(server: &TestServer, secret: &str) -> String {
    let (_, tokens) = code_flow(server, "es-portal", secret, "openid", "teacher");
    tokens["id_token"].as_str().unwrap().to_string()
}

/// Verifies the ID token as a relying party would, with openidconnect: the keys from the
/// discovered JWKS, only ES256 allowed, issuer and audience checked.
fn verify_es256(server: &TestServer, secret: &str, id_token: &str) {
    let issuer = IssuerUrl::new(server.issuer(demo::SCHOOL)).unwrap();
    let metadata = CoreProviderMetadata::discover(&issuer, &http()).unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("es-portal".into()),
        Some(ClientSecret::new(secret.into())),
    );
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let parsed: CoreIdToken = id_token.parse().unwrap();
    let no_nonce = |_: Option<&Nonce>| Ok(());
    let claims = parsed
        .claims(&verifier, no_nonce)
        .expect("the ES256 ID token verifies against the JWKS");
    assert_eq!(claims.audiences()[0].as_str(), "es-portal");
}
