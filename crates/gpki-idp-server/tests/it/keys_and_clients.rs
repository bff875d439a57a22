//! Key rotation with overlap, ES256 per client, private_key_jwt, prompt and max_age, and the
//! demo command on a fresh data directory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gpki_idp_core::keys::{Alg, SigningKey};
use gpki_idp_server::demo;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl,
};
use reqwest::blocking::{Client as Http, Response};
use serde_json::{json, Value};

use crate::support::http::{free_port, header_of};
use crate::support::rp::{login_at, redirect_query};
use crate::support::server::{jwt_client_key, JWT_CLIENT, PUBLIC_CLIENT};
use crate::support::{block_on, browser, http, start, Backend, TestServer, REDIRECT};

/// The teacher's password on the login page at `auth_url`.
fn login(b: &Http, auth_url: &str) -> Response {
    login_at(b, auth_url, "teacher", demo::PASSWORD)
}

/// The public ES256 client through openidconnect: returns the verified ID token.
fn spa_id_token(server: &TestServer) -> String {
    let http = http();
    let issuer = IssuerUrl::new(server.issuer(demo::SCHOOL)).unwrap();
    let metadata = CoreProviderMetadata::discover(&issuer, &http).unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(PUBLIC_CLIENT.into()), None)
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let code = redirect_query(&login(&browser(), url.as_str()))["code"].clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("public client exchange");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).unwrap();
    let verifier = client.id_token_verifier().set_allowed_algs(vec![
        openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]);
    id_token
        .claims(&verifier, &nonce)
        .expect("ES256 ID token verifies");
    id_token.to_string()
}

#[test]
fn es256_for_one_client_and_rotation_keeps_old_tokens_verifiable() {
    let server = start(Backend::Embedded, |_| {});
    let before = spa_id_token(&server);
    assert_eq!(header_of(&before)["alg"], "ES256");
    let old_kid = header_of(&before)["kid"].as_str().unwrap().to_string();

    let school = block_on(server.state.provider.school(demo::SCHOOL)).unwrap();
    let new_kid = block_on(server.state.provider.rotate_key(&school, Alg::Es256)).unwrap();
    let jwks: Value = http()
        .get(format!("{}/jwks", server.issuer(demo::SCHOOL)))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "overlap: both published"
    );

    let after = spa_id_token(&server);
    assert_eq!(
        header_of(&after)["kid"],
        new_kid,
        "new tokens use the new key"
    );
    assert!(
        gpki_idp_core::jws::verify_jwt_with(&before, &jwks).is_some(),
        "old token still verifies"
    );
}

fn assertion(server: &TestServer, jti: &str, aud: &str) -> String {
    let key = SigningKey::load(jwt_client_key()).unwrap();
    let now = gpki_idp_core::now();
    let _ = server;
    key.sign_jwt(&json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": aud, "jti": jti, "exp": now + 60, "iat": now})).unwrap()
}

#[test]
fn private_key_jwt_authenticates_once_per_assertion() {
    // Six refused assertions of one client from one address: past the five failures a
    // (client, address) may make before waiting (see client_auth.rs).
    let server = start(Backend::Embedded, |c| {
        c.tokens.max_failures_per_account = 10
    });
    let token_url = format!("{}/token", server.issuer(demo::SCHOOL));
    let call = |jwt: &str| {
        http()
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", jwt),
            ])
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let issuer = server.issuer(demo::SCHOOL);
    let good = assertion(&server, "a1", &issuer);
    assert_eq!(call(&good), 200);
    assert_eq!(call(&good), 401, "an assertion is single use");
    assert_eq!(
        call(&assertion(&server, "a4", &token_url)),
        401,
        "the token endpoint as audience (audience injection advisory): the issuer only"
    );
    let key = SigningKey::load(jwt_client_key()).unwrap();
    let now = gpki_idp_core::now();
    let far = key.sign_jwt(&json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": issuer, "jti": "a5", "exp": now + 30 * 86400, "iat": now})).unwrap();
    assert_eq!(
        call(&far),
        401,
        "an assertion living a month would replay after the jti is forgotten"
    );
    let early = key.sign_jwt(&json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": issuer, "jti": "a6", "exp": now + 60, "nbf": now + 3600})).unwrap();
    assert_eq!(call(&early), 401, "not valid before nbf");
    assert_eq!(
        call(&assertion(&server, "a2", "https://elsewhere.example/token")),
        401,
        "wrong audience"
    );
    let stranger = SigningKey::load(&SigningKey::generate(Alg::Es256).unwrap()).unwrap();
    let now = gpki_idp_core::now();
    let forged = stranger.sign_jwt(&json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": issuer, "jti": "a3", "exp": now + 60})).unwrap();
    assert_eq!(
        call(&forged),
        401,
        "signed by a key the client did not register"
    );
}

fn auth_url(server: &TestServer, extra: &[(&str, &str)]) -> String {
    server.portal().param("state", "st").authorize_url(extra)
}

#[test]
fn prompt_and_max_age() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let none = b
        .get(auth_url(&server, &[("prompt", "none")]))
        .send()
        .unwrap();
    assert_eq!(redirect_query(&none)["error"], "login_required");
    assert_eq!(login(&b, &auth_url(&server, &[])).status(), 302);
    let silent = b
        .get(auth_url(&server, &[("prompt", "none")]))
        .send()
        .unwrap();
    assert!(
        redirect_query(&silent).contains_key("code"),
        "prompt=none with a session gives a code"
    );
    assert_eq!(
        b.get(auth_url(&server, &[("prompt", "login")]))
            .send()
            .unwrap()
            .status(),
        200,
        "prompt=login asks again"
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        b.get(auth_url(&server, &[("max_age", "0")]))
            .send()
            .unwrap()
            .status(),
        200,
        "max_age=0 asks again"
    );
    assert_eq!(
        b.get(auth_url(&server, &[("max_age", "3600")]))
            .send()
            .unwrap()
            .status(),
        302
    );
}

#[test]
fn demo_starts_on_a_fresh_data_dir_and_reruns_without_duplicates() {
    let dir = std::env::temp_dir().join(format!("gpki-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for run in 0..2 {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gpki-idp"))
            .args([
                "serve",
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/schools/demo/.well-known/openid-configuration");
        let started = Instant::now();
        let doc = loop {
            if let Ok(r) = http().get(&url).send() {
                break r.json::<Value>().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "demo did not start (run {run})"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(
            doc["issuer"],
            format!("http://127.0.0.1:{port}/schools/demo")
        );
        let jwks: Value = http()
            .get(format!("http://127.0.0.1:{port}/schools/demo/jwks"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            jwks["keys"].as_array().unwrap().len(),
            2,
            "one RS256 and one ES256 key, not more after a rerun"
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
