//! A real server for tests: actix on 127.0.0.1:0 in its own thread, on SQLite + in-process
//! state or on PostgreSQL + Redis (fresh database, random key prefix), with the demo school,
//! a public PKCE client and a second school.

#![allow(dead_code)]

pub mod apache;
pub mod card;
pub mod faults;

use std::net::TcpListener;
use std::sync::mpsc;

use gpki_idp_core::model::{NewClient, NewUser};
use gpki_idp_core::password;
use gpki_idp_server::config::Config;
use gpki_idp_store::testing;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// SQLite in a temp dir + in-process state: the embedded default.
    Embedded,
    /// PostgreSQL + Redis: production.
    Real,
}

pub struct TestServer {
    pub base: String,
    /// The running service's state, for tests that act as an operator would.
    pub state: actix_web::web::Data<gpki_idp_server::app::AppState>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn issuer(&self, school: &str) -> String {
        format!("{}/schools/{school}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)))
                .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub const PUBLIC_CLIENT: &str = "spa";
/// A confidential client that authenticates with private_key_jwt.
pub const JWT_CLIENT: &str = "signed-client";

/// The private key of [`JWT_CLIENT`] (ES256), made once per test binary.
pub fn jwt_client_key() -> &'static gpki_idp_core::model::KeyRecord {
    static KEY: std::sync::OnceLock<gpki_idp_core::model::KeyRecord> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        gpki_idp_core::keys::SigningKey::generate(gpki_idp_core::keys::Alg::Es256).unwrap()
    })
}

/// Runs async operator work against a test server's state.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    actix_web::rt::System::new().block_on(f)
}
pub const OTHER_SCHOOL: &str = "other";

pub fn start(backend: Backend, tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestServer {
    start_on(TcpListener::bind("127.0.0.1:0").unwrap(), backend, tweak)
}

/// A test server on `listener` (one on `[::]` is reached, and named, as 127.0.0.1).
pub fn start_on(
    listener: TcpListener,
    backend: Backend,
    tweak: impl FnOnce(&mut Config) + Send + 'static,
) -> TestServer {
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut config = Config {
        public_url: Some(base.clone()),
        ..Config::default()
    };
    match backend {
        Backend::Embedded => {
            config.data_dir = std::env::temp_dir().join(format!("gpki-idp-test-{}", uuid_like()));
        }
        Backend::Real => {
            config.database_url = Some(testing::fresh_postgres_url());
            config.redis_url = Some(testing::redis_url());
            config.redis_prefix = format!("gpki-test:{}:", uuid_like());
        }
    }
    tweak(&mut config);
    let (tx, rx) = mpsc::channel();
    let public = base.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let state = gpki_idp_server::serve::prepare(&config, true)
                .await
                .expect("service starts");
            seed_extra(&state.provider, &public).await;
            let server =
                gpki_idp_server::serve::run(listener, state.clone(), 2).expect("server runs");
            tx.send((server.handle(), state)).unwrap();
            let _ = server.await;
        })
    });
    let (handle, state) = rx.recv().expect("server started");
    TestServer {
        base,
        state,
        handle,
        thread: Some(thread),
    }
}

fn uuid_like() -> String {
    gpki_idp_core::random_token(9).replace(['-', '_'], "x")
}

async fn seed_extra(provider: &gpki_idp_core::oidc::Provider, base: &str) {
    let dir = &provider.directory;
    let demo = dir.school_by_code("demo").await.unwrap().unwrap();
    let spa = NewClient {
        school_id: demo.id,
        client_id: PUBLIC_CLIENT.into(),
        name: "public SPA".into(),
        secret_hash: None,
        public_client: true,
        require_pkce: true,
        redirect_uris: vec!["http://127.0.0.1:9000/callback".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: "ES256".into(),
        jwks: None,
        allowed_scopes: gpki_idp_core::model::default_scopes(),
        default_acr_values: vec![],
        min_acr: None,
    };
    dir.create_client(spa).await.unwrap();
    let key = gpki_idp_core::keys::SigningKey::load(jwt_client_key()).unwrap();
    let jwks = serde_json::json!({"keys": [key.jwk()]}).to_string();
    let signed = NewClient {
        school_id: demo.id,
        client_id: JWT_CLIENT.into(),
        name: "service with a key".into(),
        secret_hash: None,
        public_client: false,
        require_pkce: false,
        redirect_uris: vec!["http://127.0.0.1:9000/callback".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        id_token_alg: "RS256".into(),
        jwks: Some(jwks),
        allowed_scopes: gpki_idp_core::model::default_scopes(),
        default_acr_values: vec![],
        min_acr: None,
    };
    dir.create_client(signed).await.unwrap();
    let other = dir.create_school(OTHER_SCHOOL, "別的國中").await.unwrap();
    provider.ensure_keys(&other).await.unwrap();
    dir.create_user(NewUser {
        school_id: other.id,
        username: "teacher".into(),
        display_name: "別校老師".into(),
        password_hash: Some(password::hash("other-pass")),
        roles: vec!["teacher".into()],
    })
    .await
    .unwrap();
    let _ = base;
}

/// A plain HTTP client that never follows redirects.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: keeps cookies, never follows redirects.
pub fn browser() -> reqwest::blocking::Client {
    reqwest::blocking::ClientBuilder::new()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden form field of a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}
