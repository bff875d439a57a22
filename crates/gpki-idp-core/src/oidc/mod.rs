//! The OIDC provider of every school: settings, key sets, and the flows in submodules
//! ([`authorize`], [`session`], [`token`], [`client_auth`]).

pub mod authorize;
pub mod backchannel;
mod cache;
pub mod card;
pub mod client_auth;
pub mod code;
pub mod endpoint;
pub mod proved;
pub mod request;
pub mod session;
pub mod step;
pub mod throttle;
pub mod token;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};

use self::cache::TtlCache;
use crate::ephemeral::Ephemeral;
use crate::error::Error;
use crate::keys::{Alg, KeySet, SigningKey};
use crate::model::{Client, School};
use crate::store::Directory;

use crate::factor::{ACR_CERTIFICATE, ACR_PASSWORD, ACR_PASSWORD_CERTIFICATE};

/// Lifetimes and limits; every default is documented in the config reference.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub authorize_request_ttl: Duration,
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_ttl: Duration,
    /// How long a key rotated out stays in the JWKS (tokens it signed must still verify).
    pub key_publish_after_retire: Duration,
    /// Wrong passwords for one account from one address in a window before each further
    /// attempt waits (see [`throttle`]).
    pub max_failures_per_account: u64,
    /// Wrong passwords from one address, across accounts, before its attempts wait.
    pub max_attempts_per_ip: u64,
    /// Wrong passwords for one account, from any address, before its attempts wait.
    pub account_failures_before_delay: u64,
    /// The first wait; each further failure doubles it.
    pub failure_delay: Duration,
    /// The longest wait of one (address, account).
    pub max_failure_delay: Duration,
    /// The longest wait of an account from every address, and of an address for every
    /// account: short, since the teacher (or the school) waits too.
    pub max_account_delay: Duration,
    /// Account look-ups (the login page's first step) per address per window.
    pub max_lookups_per_ip: u64,
    /// Card challenges per address per window.
    pub max_challenges_per_ip: u64,
    pub throttle_window: Duration,
    /// How long the successor of a rotated refresh token may be fetched again with the old
    /// one, for a client whose answer was lost; after it, or once the successor is used, the
    /// old token is a replay and ends the family.
    pub refresh_reuse_grace: Duration,
    /// How long a card challenge may be signed (the PIN prompt included).
    pub challenge_ttl: Duration,
    /// How long a process trusts its cached signing keys before reading them again, so a
    /// rotation made by another replica is seen within this time.
    pub key_cache_ttl: Duration,
    /// How long a process trusts a client's or a school's settings read for a request
    /// (changes made on this replica apply at once; on others within this time).
    pub client_cache_ttl: Duration,
    /// How long a GM's password reset code may be used.
    pub reset_code_ttl: Duration,
    /// The district's password policy: what a school without its own applies.
    pub passwords: crate::password_policy::PasswordPolicy,
    /// How long a logout token is retried before it is given up (Back-Channel Logout).
    pub logout_retry_for: Duration,
    /// The wait after a logout token's first failed delivery; it doubles after each failure
    /// up to `logout_max_retry_interval`.
    pub logout_first_retry: Duration,
    pub logout_max_retry_interval: Duration,
    /// Networks inside the district that logout tokens may be sent to (see
    /// [`crate::destination`]); every other non-public address is refused.
    pub logout_allowed_networks: Vec<ipnet::IpNet>,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            authorize_request_ttl: Duration::from_secs(600),
            code_ttl: Duration::from_secs(60),
            access_token_ttl: Duration::from_secs(900),
            id_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 86400),
            session_ttl: Duration::from_secs(8 * 3600),
            key_publish_after_retire: Duration::from_secs(2 * 3600),
            max_failures_per_account: 5,
            max_attempts_per_ip: 100,
            account_failures_before_delay: 20,
            failure_delay: Duration::from_secs(1),
            max_failure_delay: Duration::from_secs(900),
            max_account_delay: Duration::from_secs(60),
            max_lookups_per_ip: 5000,
            max_challenges_per_ip: 5000,
            throttle_window: Duration::from_secs(900),
            refresh_reuse_grace: Duration::from_secs(60),
            challenge_ttl: Duration::from_secs(300),
            key_cache_ttl: Duration::from_secs(30),
            client_cache_ttl: Duration::from_secs(2),
            reset_code_ttl: Duration::from_secs(86_400),
            passwords: Default::default(),
            logout_retry_for: Duration::from_secs(3600),
            logout_first_retry: Duration::from_secs(10),
            logout_max_retry_interval: Duration::from_secs(600),
            logout_allowed_networks: Vec::new(),
        }
    }
}

/// Whether the stores answer (`/readyz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    pub store: bool,
}

/// Keys of one school as cached by this process.
struct CachedKeys {
    loaded: Instant,
    set: Arc<KeySet>,
    retired: HashMap<String, i64>,
}

/// The provider: storage, settings and a per-school key cache.
pub struct Provider {
    /// The persistent records: private, so that every change goes through the domain's
    /// services and is written with its audit. Tests reach it through
    /// [`Provider::directory`] (feature `testing`) to seed and to look.
    pub(crate) directory: Arc<dyn Directory>,
    pub ephemeral: Arc<dyn Ephemeral>,
    pub settings: ProviderSettings,
    /// The certificate engine; `None` turns certificate login off.
    pub verifier: Option<Arc<gpki_verify::Verifier>>,
    keys: RwLock<HashMap<i64, Arc<CachedKeys>>>,
    /// The key of client secrets, read (or made) once.
    client_secret_key: tokio::sync::OnceCell<crate::client_secret::SecretKey>,
    /// Clients read lately, by (school id, client id).
    clients: TtlCache<(i64, String), Option<Client>>,
    /// Enabled schools read lately, by code: every request names its school.
    schools: TtlCache<String, School>,
    /// The key of device cookies, read (or made) once.
    device_key: tokio::sync::OnceCell<crate::device::DeviceKey>,
    /// The key that signs pending requests, read (or made) once.
    request_key: tokio::sync::OnceCell<aws_lc_rs::hmac::Key>,
}

impl Provider {
    pub fn new(
        directory: Arc<dyn Directory>,
        ephemeral: Arc<dyn Ephemeral>,
        settings: ProviderSettings,
    ) -> Self {
        Self {
            directory,
            ephemeral,
            settings,
            verifier: None,
            keys: RwLock::new(HashMap::new()),
            client_secret_key: tokio::sync::OnceCell::new(),
            clients: TtlCache::new(),
            schools: TtlCache::new(),
            device_key: tokio::sync::OnceCell::new(),
            request_key: tokio::sync::OnceCell::new(),
        }
    }

    /// The persistent records, for tests that seed or inspect them directly.
    #[cfg(feature = "testing")]
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// Turns certificate login on with this engine.
    pub fn with_verifier(mut self, verifier: Arc<gpki_verify::Verifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Appends an audit event that describes no stored change (a refused login, a refused
    /// registration) and writes a copy to the log output. The only way to the audit log
    /// alone: the event of a change is written with the change ([`crate::audit::Audit`]).
    pub async fn record(&self, event: crate::audit::AuditEvent) -> Result<(), Error> {
        Ok(self.directory.append_audit(event).await?)
    }

    /// Whether the database and the short-lived store each answer within `wait`.
    pub async fn ready(&self, wait: Duration) -> Readiness {
        let answers =
            |ping| async move { matches!(tokio::time::timeout(wait, ping).await, Ok(Ok(()))) };
        let (database, store) = tokio::join!(
            answers(self.directory.ping()),
            answers(self.ephemeral.ping())
        );
        Readiness { database, store }
    }

    /// A client of the school, read at most `client_cache_ttl` ago.
    pub async fn client(&self, school_id: i64, client_id: &str) -> Result<Option<Client>, Error> {
        let key = (school_id, client_id.to_string());
        if let Some(client) = self.clients.get(&key, self.settings.client_cache_ttl) {
            return Ok(client);
        }
        let version = self.clients.version();
        let client = self.directory.client(school_id, client_id).await?;
        self.clients.put(key, client.clone(), version);
        Ok(client)
    }

    /// Drops a client from this process's cache (after an admin change).
    pub fn forget_client(&self, school_id: i64, client_id: &str) {
        self.clients.forget(&(school_id, client_id.to_string()));
    }

    /// The school with this code, if it exists and is enabled.
    /// Only enabled schools are cached, so a new school is found at once.
    pub async fn school(&self, code: &str) -> Result<School, Error> {
        let key = code.to_string();
        if let Some(school) = self.schools.get(&key, self.settings.client_cache_ttl) {
            return Ok(school);
        }
        let version = self.schools.version();
        match self.directory.school_by_code(code).await? {
            Some(mut s) if !s.disabled => {
                // Its pages show its branding: read with it, cached with it.
                s.branding = self.directory.branding(s.id).await?;
                self.schools.put(key, s.clone(), version);
                Ok(s)
            }
            _ => Err(Error::not_found(format!("unknown school `{code}`"))),
        }
    }

    /// Drops a school from this process's cache (after an admin change).
    pub fn forget_school(&self, code: &str) {
        self.schools.forget(&code.to_string());
    }

    pub(crate) fn forget_keys(&self, school_id: i64) {
        if let Ok(mut cache) = self.keys.write() {
            cache.remove(&school_id);
        }
    }

    async fn cached_keys(&self, school: &School) -> Result<Arc<CachedKeys>, Error> {
        if let Some(hit) = self
            .keys
            .read()
            .ok()
            .and_then(|c| c.get(&school.id).cloned())
        {
            if hit.loaded.elapsed() < self.settings.key_cache_ttl {
                return Ok(hit);
            }
        }
        let now = crate::now();
        let publish = self.settings.key_publish_after_retire.as_secs() as i64;
        let records = self.directory.signing_keys(school.id).await?;
        let mut keys = Vec::new();
        let mut retired = HashMap::new();
        for record in records
            .iter()
            .filter(|r| r.retired_at.is_none_or(|t| t + publish > now))
        {
            keys.push(SigningKey::load(record).map_err(|_| Error::server_error())?);
            if let Some(at) = record.retired_at {
                retired.insert(record.kid.clone(), at);
            }
        }
        let cached = Arc::new(CachedKeys {
            loaded: Instant::now(),
            set: Arc::new(KeySet { keys }),
            retired,
        });
        if let Ok(mut cache) = self.keys.write() {
            cache.insert(school.id, cached.clone());
        }
        Ok(cached)
    }

    /// The school's JWKS: active keys and keys retired recently.
    pub async fn jwks(&self, school: &School) -> Result<Value, Error> {
        Ok(self.cached_keys(school).await?.set.jwks())
    }

    /// Signs `claims` with the school's current key for `alg`.
    pub async fn sign(&self, school: &School, alg: Alg, claims: &Value) -> Result<String, Error> {
        self.sign_as(school, alg, claims, None).await
    }

    /// Signs `claims` as [`Provider::sign`] does, with the header's `typ` when given.
    pub(crate) async fn sign_as(
        &self,
        school: &School,
        alg: Alg,
        claims: &Value,
        typ: Option<&str>,
    ) -> Result<String, Error> {
        let cached = self.cached_keys(school).await?;
        let key = cached
            .set
            .signer(alg, &|kid| cached.retired.contains_key(kid))
            .ok_or_else(Error::server_error)?;
        match typ {
            Some(typ) => key.sign_typed_jwt(claims, typ),
            None => key.sign_jwt(claims),
        }
        .map_err(|_| Error::server_error())
    }

    /// Verifies a JWT signed by one of the school's published keys; returns its claims.
    pub async fn verify_own_jwt(&self, school: &School, jwt: &str) -> Option<Value> {
        let cached = self.cached_keys(school).await.ok()?;
        crate::jws::verify_jwt_with(jwt, &cached.set.jwks())
    }

    /// Discovery document of the school's issuer.
    pub fn discovery(&self, issuer: &str) -> Value {
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "end_session_endpoint": format!("{issuer}/logout"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "offline_access", "admin", "admin:users", "admin:audit", "district", "introspection"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid", "name", "preferred_username", "school", "roles"],
            "acr_values_supported": [ACR_PASSWORD, ACR_CERTIFICATE, ACR_PASSWORD_CERTIFICATE],
            "prompt_values_supported": ["none", "login"],
            "ui_locales_supported": ["zh-TW", "en"],
            "claims_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        })
    }

    /// Stores `value` as JSON under `key` for `ttl`.
    pub(crate) async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|_| Error::server_error())?;
        Ok(self.ephemeral.put(key, &bytes, ttl).await?)
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, Error> {
        Ok(self
            .ephemeral
            .get(key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    pub(crate) async fn take_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, Error> {
        Ok(self
            .ephemeral
            .take(key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }
}
