//! The full authorization code flow with PKCE, driven by the `openidconnect` crate as the
//! relying party against a real server, on SQLite + in-process state and on PostgreSQL +
//! Redis; then every rule a client or browser might try to break.

use gpki_idp_server::demo;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse,
    TokenResponse,
};
use serde_json::Value;

use crate::support::http::{claims_of, urlencode};
use crate::support::rp::{login_at, pkce, redirect_query, LoginForm};
use crate::support::server::{OTHER_SCHOOL, PUBLIC_CLIENT};
use crate::support::{block_on, browser, http, start, Backend, Rp, TestServer, REDIRECT};

fn full_flow(backend: Backend) {
    let server = start(backend, |_| {});
    let http = http();
    let issuer = IssuerUrl::new(server.issuer(demo::SCHOOL)).unwrap();
    let metadata = CoreProviderMetadata::discover(&issuer, &http).expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(demo::CLIENT_ID.into()),
        Some(ClientSecret::new(demo::CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_revocation_url(
        openidconnect::RevocationUrl::new(format!("{}/revoke", issuer.as_str())).unwrap(),
    )
    .set_introspection_url(
        openidconnect::IntrospectionUrl::new(format!("{}/introspect", issuer.as_str())).unwrap(),
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = browser();
    let back = login_at(&browser, auth_url.as_str(), "teacher", demo::PASSWORD);
    assert_eq!(back.status(), 302);
    let params = redirect_query(&back);
    assert_eq!(params["state"], *csrf.secret());
    assert_eq!(params["iss"], issuer.as_str());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token signature and claims");
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some(gpki_idp_core::factor::ACR_PASSWORD)
    );
    assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    let raw = claims_of(&id_token.to_string());
    assert_eq!(raw["school"], "demo");
    assert_eq!(raw["roles"], serde_json::json!(["teacher"]));
    assert_eq!(raw["preferred_username"], "teacher");
    let sub = claims.subject().as_str().to_string();
    assert!(!sub.contains("teacher"), "sub is not derived from names");

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request(&http)
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);

    // A second login in the same browser needs no password: the session answers.
    let (auth2, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let again = browser.get(auth2.as_str()).send().unwrap();
    assert_eq!(again.status(), 302, "session reused");
    assert!(redirect_query(&again).contains_key("code"));

    // Refresh rotation. The rotated-out token presented again at once is a retry of an
    // answer that may have been lost: it gets the same successor (grace window).
    let refresh1 = tokens.refresh_token().expect("refresh token").clone();
    let refresh = |token: &openidconnect::RefreshToken| {
        client.exchange_refresh_token(token).unwrap().request(&http)
    };
    let rotated = refresh(&refresh1).expect("refresh");
    let refresh2 = rotated.refresh_token().expect("rotated").clone();
    assert_ne!(refresh1.secret(), refresh2.secret());
    let retried = refresh(&refresh1).expect("a retry within the grace window");
    assert_eq!(
        retried.refresh_token().map(|t| t.secret().clone()),
        Some(refresh2.secret().clone()),
        "a retry gets the very successor the first answer carried"
    );
    // Once the successor is used, the old token is a replay: the family ends.
    let rotated = refresh(&refresh2).expect("the successor works");
    let refresh3 = rotated.refresh_token().expect("rotated again").clone();
    assert!(refresh(&refresh1).is_err(), "replay refused");
    assert!(
        refresh(&refresh3).is_err(),
        "family revoked after the replay"
    );

    // Introspection and revocation.
    let access = rotated.access_token().clone();
    let intro = client
        .introspect(&access)
        .request(&http)
        .expect("introspect");
    assert!(intro.active());
    // (oauth2 refuses revocation over plain http, so the RFC 7009 call is made by hand.)
    let revoked = http
        .post(format!("{}/revoke", issuer.as_str()))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .form(&[
            ("token", access.secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(!client.introspect(&access).request(&http).unwrap().active());
    let after: Result<CoreUserInfoClaims, _> =
        client.user_info(access, None).unwrap().request(&http);
    assert!(after.is_err(), "revoked token refused");

    // RP-initiated logout back to a registered URI; the session is gone afterwards.
    let logout = format!(
        "{}/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        issuer.as_str(),
        id_token,
        urlencode("http://127.0.0.1:9000/")
    );
    let out = browser.get(logout).send().unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(redirect_query(&out)["state"], "bye");
    let (auth3, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    assert_eq!(
        browser.get(auth3.as_str()).send().unwrap().status(),
        200,
        "login page again"
    );
}

#[test]
fn full_flow_on_sqlite_and_in_process_state() {
    full_flow(Backend::Embedded);
}

#[test]
fn full_flow_on_postgres_and_redis() {
    full_flow(Backend::Real);
}

/// An authorization URL for the public PKCE client, by hand.
fn spa_url(server: &TestServer, challenge: Option<&str>, redirect: &str) -> String {
    let spa = Rp::public(&server.issuer(demo::SCHOOL)).redirect_uri(redirect);
    let mut extra = vec![("state", "s1")];
    if let Some(c) = challenge {
        extra.extend([("code_challenge", c), ("code_challenge_method", "S256")]);
    }
    spa.authorize_url(&extra)
}

/// A token request at `school` without client authentication (the public client names
/// itself in the form).
fn token_call(server: &TestServer, school: &str, form: &[(&str, &str)]) -> (u16, Value) {
    Rp::public(&server.issuer(school)).token(form)
}

/// Logs in through the public client with PKCE; returns the code.
fn spa_code(server: &TestServer, challenge: &str) -> String {
    let url = spa_url(server, Some(challenge), REDIRECT);
    let back = login_at(&browser(), &url, "teacher", demo::PASSWORD);
    redirect_query(&back)["code"].clone()
}

fn negatives(backend: Backend) {
    let server = start(backend, |_| {});
    let issuer = server.issuer(demo::SCHOOL);
    let http = http();

    // Unknown school: JSON 404.
    let r = http
        .get(format!(
            "{}/schools/nope/.well-known/openid-configuration",
            server.base
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().unwrap()["error"], "not_found");

    // Wrong redirect URI and unknown client: an error page, never a redirect.
    for url in [
        spa_url(&server, Some(&pkce().0), "http://127.0.0.1:9000/evil"),
        spa_url(&server, None, "https://attacker.example/cb")
            .replace("client_id=spa", "client_id=ghost"),
    ] {
        let r = http.get(url).send().unwrap();
        assert_eq!(r.status(), 400);
        assert!(
            r.headers().get("location").is_none(),
            "no redirect to an unverified URI"
        );
    }

    // Public client without PKCE: error sent back to the (verified) redirect URI.
    let r = http.get(spa_url(&server, None, REDIRECT)).send().unwrap();
    assert_eq!(r.status(), 302);
    let q = redirect_query(&r);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("invalid_request", "s1")
    );

    // Missing and wrong PKCE verifier.
    let (challenge, verifier) = pkce();
    let code = spa_code(&server, &challenge);
    let (status, body) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code = spa_code(&server, &challenge);
    let (_, other_verifier) = pkce();
    let (status, body) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", &other_verifier),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Reused code: refused, and what the first exchange issued is revoked.
    let code = spa_code(&server, &challenge);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", PUBLIC_CLIENT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = token_call(&server, demo::SCHOOL, &exchange);
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        http.get(format!("{issuer}/userinfo"))
            .bearer_auth(&access)
            .send()
            .unwrap()
            .status(),
        200
    );
    let (status, body) = token_call(&server, demo::SCHOOL, &exchange);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        http.get(format!("{issuer}/userinfo"))
            .bearer_auth(&access)
            .send()
            .unwrap()
            .status(),
        401,
        "tokens of a reused code are revoked"
    );
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, _) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", PUBLIC_CLIENT),
        ],
    );
    assert_eq!(status, 400, "refresh family of a reused code is revoked");

    // Wrong client secret (Basic and post).
    let r = http
        .post(format!("{issuer}/token"))
        .basic_auth(demo::CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(r.json::<Value>().unwrap()["error"], "invalid_client");
    let (status, body) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", "nope"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // client_credentials works with the right secret.
    let r = http
        .post(format!("{issuer}/token"))
        .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // A token of school A presented at school B.
    let r = http
        .get(format!("{}/userinfo", server.issuer(OTHER_SCHOOL)))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let (challenge, verifier) = pkce();
    let code = spa_code(&server, &challenge);
    let (_, tokens) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", &verifier),
        ],
    );
    let r = http
        .get(format!("{}/userinfo", server.issuer(OTHER_SCHOOL)))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 401, "school B does not honour school A's token");
    let (status, _) = token_call(
        &server,
        OTHER_SCHOOL,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
        ],
    );
    assert_eq!(status, 401, "school A's client is unknown at school B");

    // Malformed bodies.
    let r = http
        .post(format!("{issuer}/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=%zz&&=")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16() / 100, 4);
    let r = http
        .post(format!("{issuer}/token"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"], "invalid_request");
    let (status, body) = token_call(
        &server,
        demo::SCHOOL,
        &[("grant_type", "password"), ("client_id", PUBLIC_CLIENT)],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[test]
fn negatives_on_sqlite_and_in_process_state() {
    negatives(Backend::Embedded);
}

#[test]
fn negatives_on_postgres_and_redis() {
    negatives(Backend::Real);
}

#[test]
fn expired_code_is_refused() {
    let server = start(Backend::Embedded, |c| c.tokens.code_ttl_secs = 1);
    let (challenge, verifier) = pkce();
    let code = spa_code(&server, &challenge);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, body) = token_call(
        &server,
        demo::SCHOOL,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn wrong_passwords_are_throttled_and_look_like_unknown_accounts() {
    let server = start(Backend::Embedded, |c| c.tokens.max_failures_per_account = 3);
    let (challenge, _) = pkce();
    let url = spa_url(&server, Some(&challenge), REDIRECT);
    let unknown = login_at(&browser(), &url, "nobody", "x").text().unwrap();
    let wrong = login_at(&browser(), &url, "teacher", "x").text().unwrap();
    assert!(unknown.contains("帳號或密碼錯誤") && wrong.contains("帳號或密碼錯誤"));
    login_at(&browser(), &url, "teacher", "x");
    login_at(&browser(), &url, "teacher", "x");
    let locked = login_at(&browser(), &url, "teacher", demo::PASSWORD);
    assert_eq!(
        locked.status(),
        429,
        "the right password is refused while throttled"
    );
}

#[test]
fn login_form_without_our_csrf_cookie_is_refused() {
    let server = start(Backend::Embedded, |_| {});
    let (challenge, _) = pkce();
    let page = browser()
        .get(spa_url(&server, Some(&challenge), REDIRECT))
        .send()
        .unwrap()
        .text()
        .unwrap();
    // Another browser (no cookie) posting the same form: a cross-site request forgery.
    let r =
        server
            .portal()
            .submit_password(&http(), &LoginForm::of(&page), "teacher", demo::PASSWORD);
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());
}

#[test]
fn a_role_limited_to_the_certificate_cannot_log_in_with_a_password() {
    let server = start(Backend::Real, |_| {});
    let school = server.demo_school();
    let policy = gpki_idp_core::policy::RolePolicy {
        role: "teacher".into(),
        methods: vec![gpki_idp_core::policy::Method::Certificate],
    };
    block_on(
        server
            .state
            .provider
            .directory()
            .set_role_policy(school.id, policy),
    )
    .unwrap();
    let (challenge, _) = pkce();
    let url = spa_url(&server, Some(&challenge), REDIRECT);
    let refused = login_at(&browser(), &url, "teacher", demo::PASSWORD);
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("location").is_none());
    assert!(refused.text().unwrap().contains("不允許您的身份以密碼登入"));
    let allowed = login_at(&browser(), &url, "staff", demo::PASSWORD);
    assert_eq!(allowed.status(), 302, "other roles keep the password");

    let b = browser();
    let page = b.get(&url).send().unwrap().text().unwrap();
    let login = LoginForm::of(&page);
    let form = [
        ("req", login.req),
        ("csrf", login.csrf),
        ("username", "teacher".to_string()),
    ];
    let methods: Value = b
        .post(format!("{}/login/methods", server.issuer(demo::SCHOOL)))
        .form(&form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(methods["password"], false);
}
