//! The harness of the core's tests: a [`Provider`] on the real stores, without HTTP, with the
//! demo school (accounts `teacher` and `gm` with [`PASSWORD`], the confidential client
//! [`CLIENT_ID`]), on SQLite + in-process state ([`embedded`]) or on PostgreSQL + Redis
//! ([`real`]). The directory is wrapped in [`faulty::Faulty`] (commits that fail, or fail
//! after they committed) and the short-lived store in [`faulty::Recording`] (every key
//! written is remembered), and [`Harness::refuse_audits`] makes the database refuse audit
//! rows. Tests of the login transaction, refresh rotation and step-up start here.

#![allow(dead_code)]

/// Runs the check `$name` on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite_and_in_process() {
                super::$name(super::common::embedded().await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres_and_redis() {
                super::$name(super::common::real().await).await;
            }
        }
    )*};
}

pub mod card;
pub mod faulty;

use std::collections::HashMap;
use std::sync::Arc;

use gpki_idp_core::audit::{AuditEvent, Origin};
use gpki_idp_core::ephemeral::Ephemeral;
use gpki_idp_core::login::{Attempt, Authorized, Concluded, Proof};
use gpki_idp_core::model::{NewClient, NewUser, School};
use gpki_idp_core::oidc::{Provider, ProviderSettings};
use gpki_idp_core::store::Directory;
use gpki_idp_store::testing;

#[allow(unused_imports)]
pub use faulty::{Faulty, Recording, SessionCommit};

pub const SCHOOL: &str = "demo";
pub const CLIENT_ID: &str = "demo-portal";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9000/callback";
pub const PASSWORD: &str = "demo1234";
pub const ISSUER: &str = "http://idp.test/schools/demo";
/// The browser of every attempt (its CSRF cookie value).
pub const BROWSER: &str = "browser-of-the-test";

/// A ready provider and what a test looks at around it.
pub struct Harness {
    pub provider: Provider,
    pub school: School,
    /// The database, as the test sees it (no faults).
    pub directory: Arc<dyn Directory>,
    /// The faults of the provider's directory.
    pub faults: Arc<Faulty>,
    /// The provider's short-lived store, remembering every key written.
    pub ephemeral: Arc<Recording>,
    /// The database's URL (for [`Harness::refuse_audits`]).
    pub database_url: String,
    pub origin: Origin,
}

/// The demo school on SQLite and in-process state (the embedded default).
pub async fn embedded() -> Harness {
    let eph: Arc<dyn Ephemeral> = Arc::new(testing::in_process());
    harness(testing::fresh_sqlite_url(), eph).await
}

/// The demo school on PostgreSQL and Redis (production). Both must be running: a test fails
/// loudly when one is absent.
pub async fn real() -> Harness {
    let eph: Arc<dyn Ephemeral> = Arc::new(testing::redis_store().await);
    harness(testing::fresh_postgres_url(), eph).await
}

async fn harness(database_url: String, ephemeral: Arc<dyn Ephemeral>) -> Harness {
    let sql: Arc<dyn Directory> = Arc::new(testing::directory_at(&database_url).await);
    let faults = Arc::new(Faulty::new(sql.clone()));
    let recording = Arc::new(Recording::new(ephemeral));
    let provider = Provider::new(
        faults.clone(),
        recording.clone(),
        ProviderSettings::default(),
    )
    .with_verifier(card::verifier());
    let school = seed(&provider).await;
    Harness {
        provider,
        school,
        directory: sql,
        faults,
        ephemeral: recording,
        database_url,
        origin: Origin::new("192.0.2.10".into(), Some("core-test")),
    }
}

/// The demo school, its keys, `teacher` and `gm`, and the demo portal.
async fn seed(provider: &Provider) -> School {
    let dir = &provider.directory();
    let school = dir
        .create_school(SCHOOL, "示範國小")
        .await
        .expect("demo school");
    provider.ensure_keys(&school).await.expect("keys");
    for (username, role) in [("teacher", "teacher"), ("gm", "admin")] {
        let user = NewUser {
            school_id: school.id,
            username: username.into(),
            display_name: format!("{username} of the demo"),
            password_hash: Some(gpki_idp_core::password::hash(PASSWORD)),
            roles: vec![role.into()],
            password_must_change: false,
        };
        dir.create_user(user).await.expect("account");
    }
    let client = NewClient {
        school_id: school.id,
        client_id: CLIENT_ID.into(),
        name: "demo portal".into(),
        secret_hash: Some(gpki_idp_core::password::hash("demo-portal-secret")),
        public_client: false,
        require_pkce: false,
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: "RS256".into(),
        jwks: None,
        allowed_scopes: gpki_idp_core::model::default_scopes(),
        default_acr_values: vec![],
        min_acr: None,
        refresh_reuse_grace_secs: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    dir.create_client(client).await.expect("client");
    provider
        .school(SCHOOL)
        .await
        .expect("the demo school is found")
}

impl Harness {
    /// From now on the database refuses audit rows.
    pub fn refuse_audits(&self) {
        testing::refuse_audit_rows(&self.database_url);
    }

    /// A pending authorization request of the demo portal; its id.
    pub async fn pending_login(&self) -> String {
        self.pending_login_with(&[]).await
    }

    /// A pending authorization request of the demo portal with `extra` parameters; its id.
    pub async fn pending_login_with(&self, extra: &[(&str, &str)]) -> String {
        let mut params: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid profile"),
            ("state", "s"),
            ("nonce", "n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        match self
            .provider
            .authorize(&self.school, ISSUER, &params, None)
            .await
            .expect("authorize")
        {
            Authorized::Login(pending) => pending.request_id,
            other => panic!("expected a login page, got {other:?}"),
        }
    }

    /// An attempt at the pending request `request_id` from the test's browser.
    pub fn attempt<'a>(&'a self, request_id: &'a str) -> Attempt<'a> {
        Attempt {
            school: &self.school,
            issuer: ISSUER,
            request_id,
            browser: BROWSER,
            device: None,
            previous_session: None,
            origin: &self.origin,
        }
    }

    /// A password login of `username` at a new pending request.
    pub async fn password_login(&self, username: &str) -> Concluded {
        let request_id = self.pending_login().await;
        let proof = Proof::Password {
            username,
            password: PASSWORD,
        };
        self.provider
            .log_in(&self.attempt(&request_id), proof)
            .await
    }

    /// The school's audit log, oldest first.
    pub async fn events(&self) -> Vec<AuditEvent> {
        self.directory
            .audit_events(self.school.id, 0, 10_000)
            .await
            .expect("audit log")
    }

    /// The events named `event` with `outcome`.
    pub async fn events_of(&self, event: &str, outcome: &str) -> Vec<AuditEvent> {
        let all = self.events().await;
        all.into_iter()
            .filter(|e| e.event == event && e.outcome == outcome)
            .collect()
    }

    /// The keys with this prefix written to the short-lived store that still hold a value.
    pub async fn live_keys(&self, prefix: &str) -> Vec<String> {
        let mut live = Vec::new();
        for key in self.ephemeral.written(prefix) {
            if self.ephemeral.get(&key).await.expect("store").is_some() {
                live.push(key);
            }
        }
        live
    }

    /// The live browser sessions of the school in the database.
    pub async fn stored_sessions(&self) -> usize {
        self.directory
            .list_sessions(
                self.school.id,
                None,
                String::new(),
                100,
                gpki_idp_core::now(),
            )
            .await
            .expect("sessions")
            .len()
    }
}
