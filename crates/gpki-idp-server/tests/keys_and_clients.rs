//! Key rotation with overlap, ES256 per client, private_key_jwt, prompt and max_age, and the
//! demo command on a fresh data directory.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    block_on, browser, hidden, http, jwt_client_key, start, Backend, JWT_CLIENT, PUBLIC_CLIENT,
};
use gpki_idp_core::keys::{Alg, SigningKey};
use gpki_idp_server::demo;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl,
};
use reqwest::blocking::Client as Http;
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:9000/callback";

fn login(browser: &Http, auth_url: &str) -> reqwest::blocking::Response {
    let page = browser.get(auth_url).send().unwrap();
    let action = page
        .url()
        .as_str()
        .split("/authorize")
        .next()
        .unwrap()
        .to_string()
        + "/login";
    let html = page.text().unwrap();
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("username", "teacher".into()),
        ("password", demo::PASSWORD.into()),
    ];
    browser.post(action).form(&form).send().unwrap()
}

fn location_query(r: &reqwest::blocking::Response) -> std::collections::HashMap<String, String> {
    let loc = r
        .headers()
        .get("location")
        .expect("redirect")
        .to_str()
        .unwrap();
    url::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn header_of(jwt: &str) -> Value {
    use base64::Engine;
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap()
}

/// The public ES256 client through openidconnect: returns the verified ID token.
fn spa_id_token(server: &common::TestServer) -> String {
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
    let code = location_query(&login(&browser(), url.as_str()))["code"].clone();
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

fn assertion(server: &common::TestServer, jti: &str, aud: &str) -> String {
    let key = SigningKey::load(jwt_client_key()).unwrap();
    let now = gpki_idp_core::now();
    let _ = server;
    key.sign_jwt(&json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": aud, "jti": jti, "exp": now + 60, "iat": now})).unwrap()
}

#[test]
fn private_key_jwt_authenticates_once_per_assertion() {
    let server = start(Backend::Embedded, |_| {});
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

fn auth_url(server: &common::TestServer, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", server.issuer(demo::SCHOOL))).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", demo::CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("state", "st")
        .extend_pairs(extra.iter());
    url.to_string()
}

#[test]
fn prompt_and_max_age() {
    let server = start(Backend::Embedded, |_| {});
    let b = browser();
    let none = b
        .get(auth_url(&server, &[("prompt", "none")]))
        .send()
        .unwrap();
    assert_eq!(location_query(&none)["error"], "login_required");
    assert_eq!(login(&b, &auth_url(&server, &[])).status(), 302);
    let silent = b
        .get(auth_url(&server, &[("prompt", "none")]))
        .send()
        .unwrap();
    assert!(
        location_query(&silent).contains_key("code"),
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
