//! A real server for tests: actix on 127.0.0.1:0 in its own thread, on SQLite + in-process
//! state or on PostgreSQL + Redis (fresh database, random key prefix), with the demo school,
//! a public PKCE client, a client with a key (private_key_jwt) and a second school.

use std::net::TcpListener;
use std::sync::mpsc;

use gpki_idp_core::model::{NewClient, NewUser, School};
use gpki_idp_core::password;
use gpki_idp_server::config::Config;
use gpki_idp_server::demo;
use gpki_idp_store::testing;

use super::gate;
use super::rp::{Rp, REDIRECT};

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
    _pass: gate::Pass,
}

impl TestServer {
    pub fn issuer(&self, school: &str) -> String {
        format!("{}/schools/{school}", self.base)
    }

    /// The demo portal, as a relying party of the demo school.
    pub fn portal(&self) -> Rp {
        Rp::portal(&self.issuer(demo::SCHOOL))
    }

    /// The demo school as the service has it.
    pub fn demo_school(&self) -> School {
        block_on(self.state.provider.school(demo::SCHOOL)).unwrap()
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
pub const OTHER_SCHOOL: &str = "other";

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

pub fn start(backend: Backend, tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestServer {
    start_on(TcpListener::bind("127.0.0.1:0").unwrap(), backend, tweak)
}

/// A test server on `listener` (one on `[::]` is reached, and named, as 127.0.0.1).
pub fn start_on(
    listener: TcpListener,
    backend: Backend,
    tweak: impl FnOnce(&mut Config) + Send + 'static,
) -> TestServer {
    let pass = gate::shared();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut config = Config {
        public_url: Some(base.clone()),
        ..Config::default()
    };
    // The test portals' back-channel logout endpoints listen on loopback.
    config.backchannel_logout.allowed_networks = vec!["127.0.0.0/8".into()];
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
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let state = gpki_idp_server::serve::prepare(&config, true)
                .await
                .expect("service starts");
            seed_extra(&state.provider).await;
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
        _pass: pass,
    }
}

fn uuid_like() -> String {
    gpki_idp_core::random_token(9).replace(['-', '_'], "x")
}

/// A client of the demo school with what most tests leave alone already filled in.
pub fn new_client(school: &School, client_id: &str, secret: Option<&str>) -> NewClient {
    NewClient {
        school_id: school.id,
        client_id: client_id.into(),
        name: client_id.into(),
        secret_hash: secret.map(password::hash),
        public_client: false,
        require_pkce: false,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        id_token_alg: "RS256".into(),
        jwks: None,
        allowed_scopes: gpki_idp_core::model::default_scopes(),
        default_acr_values: vec![],
        min_acr: None,
        refresh_reuse_grace_secs: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

async fn seed_extra(provider: &gpki_idp_core::oidc::Provider) {
    let dir = &provider.directory();
    let demo = dir.school_by_code(demo::SCHOOL).await.unwrap().unwrap();
    let spa = NewClient {
        name: "public SPA".into(),
        public_client: true,
        require_pkce: true,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: "ES256".into(),
        ..new_client(&demo, PUBLIC_CLIENT, None)
    };
    dir.create_client(spa).await.unwrap();
    let key = gpki_idp_core::keys::SigningKey::load(jwt_client_key()).unwrap();
    let jwks = serde_json::json!({"keys": [key.jwk()]}).to_string();
    let signed = NewClient {
        name: "service with a key".into(),
        grant_types: vec!["client_credentials".into()],
        jwks: Some(jwks),
        ..new_client(&demo, JWT_CLIENT, None)
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
        password_must_change: false,
    })
    .await
    .unwrap();
}
