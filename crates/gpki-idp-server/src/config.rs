//! Service configuration: a TOML file, then `GPKI_IDP_*` environment variables, then command
//! line flags. Every key has a default (deploy/CONFIG.md lists them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gpki_idp_core::oidc::ProviderSettings;
use gpki_idp_core::password_policy::PasswordPolicy;
use gpki_verify::settings::CertificateSettings;
use serde::Deserialize;

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: String,
    /// Public base URL; issuers are `{public_url}/schools/{code}`. Default `http://{listen}`.
    pub public_url: Option<String>,
    /// Directory for the embedded SQLite database and demo files (default `data`).
    pub data_dir: PathBuf,
    /// `postgres://…` or a SQLite path; default `{data_dir}/gpki-idp.sqlite`.
    pub database_url: Option<String>,
    /// Database connections per process (default 8).
    pub database_pool_size: u32,
    /// The longest one database statement may run, on the server and as waited for by a
    /// request (default 5000 ms).
    pub database_statement_timeout_ms: u64,
    /// The longest opening a database connection may take (default 3 s).
    pub database_connect_timeout_secs: u64,
    /// The longest a request waits for a free database connection (default 3000 ms).
    pub database_acquire_timeout_ms: u64,
    /// The longest a request of a school's issuer (login pages, authorize, token, the login
    /// API) may wait for storage in all, whatever each wait's own timeout (default 3000 ms);
    /// past it the answer is 503. The admin API (imports) keeps the storage timeouts alone.
    pub request_deadline_ms: u64,
    /// Days the audit log keeps an event (default 190: the six months or more a district's
    /// log-keeping rule asks, with a margin); 0 keeps every event for ever.
    pub audit_retention_days: u64,
    /// `redis://…` for shared short-lived state; unset keeps it in this process.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key (default `gpki-idp:`).
    pub redis_prefix: String,
    /// Apply database migrations when the service starts (default true).
    pub migrate_on_start: bool,
    /// Origin of the local signing service the pages talk to (default
    /// `http://localhost:61161`; point it at gpki-card-sim for demos and tests).
    pub component_origin: String,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed for the
    /// client's address (default none).
    pub trusted_proxies: Vec<String>,
    /// `text` (default) or `json`: the format of the log lines (requests, audit events,
    /// errors) on standard output; `RUST_LOG` sets the level (default `info`).
    pub log_format: String,
    pub tokens: TokenSettings,
    pub certificate: CertificateSettings,
    /// `[passwords]`: the district's password policy, which a school without its own applies
    /// (defaults: 8 characters, strength 2, history 3, no minimum age, no maximum age).
    pub passwords: PasswordPolicy,
    pub backchannel_logout: LogoutSettings,
}

/// `[backchannel_logout]`: how logout tokens reach the portals (OpenID Connect Back-Channel
/// Logout 1.0). Every replica sends; each token is sent by one of them.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogoutSettings {
    /// The longest one POST to a portal may take (default 5 s).
    pub timeout_secs: u64,
    /// How long a token is retried before it is given up and audited so (default 3600 s).
    pub retry_for_secs: u64,
    /// The wait after the first failure, doubling after each (default 10 s) …
    pub first_retry_secs: u64,
    /// … up to this (default 600 s).
    pub max_retry_interval_secs: u64,
    /// How often a replica looks for tokens to send (default 1000 ms).
    pub poll_interval_ms: u64,
    /// Networks (CIDR) inside the district that logout tokens may be sent to; every other
    /// loopback, private, link-local or otherwise non-public address is refused, at
    /// registration and when a portal's host name is resolved (default none).
    pub allowed_networks: Vec<String>,
}

impl LogoutSettings {
    /// `allowed_networks` parsed.
    pub fn networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.allowed_networks
            .iter()
            .map(|n| {
                n.trim().parse().map_err(|_| {
                    format!("[backchannel_logout] allowed_networks: `{n}` is not a CIDR range")
                })
            })
            .collect()
    }
}

impl Default for LogoutSettings {
    fn default() -> Self {
        let d = ProviderSettings::default();
        Self {
            timeout_secs: 5,
            retry_for_secs: d.logout_retry_for.as_secs(),
            first_retry_secs: d.logout_first_retry.as_secs(),
            max_retry_interval_secs: d.logout_max_retry_interval.as_secs(),
            poll_interval_ms: 1000,
            allowed_networks: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_pool_size: 8,
            database_statement_timeout_ms: 5000,
            database_connect_timeout_secs: 3,
            database_acquire_timeout_ms: 3000,
            request_deadline_ms: 3000,
            audit_retention_days: 190,
            redis_url: None,
            redis_prefix: "gpki-idp:".into(),
            migrate_on_start: true,
            component_origin: "http://localhost:61161".into(),
            trusted_proxies: Vec::new(),
            log_format: "text".into(),
            tokens: TokenSettings::default(),
            certificate: CertificateSettings::default(),
            passwords: PasswordPolicy::default(),
            backchannel_logout: LogoutSettings::default(),
        }
    }
}

/// `[tokens]`: lifetimes in seconds and login throttling.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    pub code_ttl_secs: u64,
    pub access_token_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub session_ttl_secs: u64,
    pub authorize_request_ttl_secs: u64,
    pub key_publish_after_retire_secs: u64,
    pub max_failures_per_account: u64,
    pub max_attempts_per_ip: u64,
    pub account_failures_before_delay: u64,
    pub failure_delay_secs: u64,
    pub max_failure_delay_secs: u64,
    pub max_account_delay_secs: u64,
    pub max_lookups_per_ip: u64,
    pub max_challenges_per_ip: u64,
    pub throttle_window_secs: u64,
    pub refresh_reuse_grace_secs: u64,
    pub challenge_ttl_secs: u64,
    pub key_cache_ttl_secs: u64,
    pub client_cache_ttl_secs: u64,
    /// How long a GM's password reset code may be used (default 86400: a day).
    pub reset_code_ttl_secs: u64,
    /// No longer used (pending logins are not stored: their login page carries them, signed);
    /// accepted so that older configuration files still load.
    pub max_pending_login_bytes: Option<u64>,
    /// No longer used, as `max_pending_login_bytes`.
    pub max_pending_login_bytes_per_ip: Option<u64>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let d = ProviderSettings::default();
        Self {
            code_ttl_secs: d.code_ttl.as_secs(),
            access_token_ttl_secs: d.access_token_ttl.as_secs(),
            id_token_ttl_secs: d.id_token_ttl.as_secs(),
            refresh_token_ttl_secs: d.refresh_token_ttl.as_secs(),
            session_ttl_secs: d.session_ttl.as_secs(),
            authorize_request_ttl_secs: d.authorize_request_ttl.as_secs(),
            key_publish_after_retire_secs: d.key_publish_after_retire.as_secs(),
            max_failures_per_account: d.max_failures_per_account,
            max_attempts_per_ip: d.max_attempts_per_ip,
            account_failures_before_delay: d.account_failures_before_delay,
            failure_delay_secs: d.failure_delay.as_secs(),
            max_failure_delay_secs: d.max_failure_delay.as_secs(),
            max_account_delay_secs: d.max_account_delay.as_secs(),
            max_lookups_per_ip: d.max_lookups_per_ip,
            max_challenges_per_ip: d.max_challenges_per_ip,
            throttle_window_secs: d.throttle_window.as_secs(),
            refresh_reuse_grace_secs: d.refresh_reuse_grace.as_secs(),
            max_pending_login_bytes: None,
            max_pending_login_bytes_per_ip: None,
            challenge_ttl_secs: d.challenge_ttl.as_secs(),
            key_cache_ttl_secs: d.key_cache_ttl.as_secs(),
            client_cache_ttl_secs: d.client_cache_ttl.as_secs(),
            reset_code_ttl_secs: d.reset_code_ttl.as_secs(),
        }
    }
}

impl TokenSettings {
    pub fn provider_settings(&self) -> ProviderSettings {
        let s = Duration::from_secs;
        ProviderSettings {
            authorize_request_ttl: s(self.authorize_request_ttl_secs),
            code_ttl: s(self.code_ttl_secs),
            access_token_ttl: s(self.access_token_ttl_secs),
            id_token_ttl: s(self.id_token_ttl_secs),
            refresh_token_ttl: s(self.refresh_token_ttl_secs),
            session_ttl: s(self.session_ttl_secs),
            key_publish_after_retire: s(self.key_publish_after_retire_secs),
            max_failures_per_account: self.max_failures_per_account,
            max_attempts_per_ip: self.max_attempts_per_ip,
            account_failures_before_delay: self.account_failures_before_delay,
            failure_delay: s(self.failure_delay_secs),
            max_failure_delay: s(self.max_failure_delay_secs),
            max_account_delay: s(self.max_account_delay_secs),
            max_lookups_per_ip: self.max_lookups_per_ip,
            max_challenges_per_ip: self.max_challenges_per_ip,
            throttle_window: s(self.throttle_window_secs),
            refresh_reuse_grace: s(self.refresh_reuse_grace_secs),
            challenge_ttl: s(self.challenge_ttl_secs),
            key_cache_ttl: s(self.key_cache_ttl_secs),
            client_cache_ttl: s(self.client_cache_ttl_secs),
            reset_code_ttl: s(self.reset_code_ttl_secs),
            passwords: Default::default(),
            ..ProviderSettings::default()
        }
    }
}

impl Config {
    /// Reads `path` (if given), then applies `GPKI_IDP_*` environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let mut config = match path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config
            .passwords
            .check()
            .map_err(|e| format!("[passwords] {e}"))?;
        config.backchannel_logout.networks()?;
        Ok(config)
    }

    /// Environment overrides: `GPKI_IDP_LISTEN`, `GPKI_IDP_PUBLIC_URL`, `GPKI_IDP_DATA_DIR`,
    /// `GPKI_IDP_DATABASE_URL`, `GPKI_IDP_DATABASE_POOL_SIZE`, `GPKI_IDP_REDIS_URL`,
    /// `GPKI_IDP_REDIS_PREFIX`, `GPKI_IDP_MIGRATE_ON_START`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = var("GPKI_IDP_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("GPKI_IDP_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = var("GPKI_IDP_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("GPKI_IDP_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = var("GPKI_IDP_DATABASE_POOL_SIZE") {
            self.database_pool_size = v
                .parse()
                .map_err(|_| format!("GPKI_IDP_DATABASE_POOL_SIZE: `{v}` is not a number"))?;
        }
        if let Some(v) = var("GPKI_IDP_REDIS_URL") {
            self.redis_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("GPKI_IDP_REDIS_PREFIX") {
            self.redis_prefix = v;
        }
        if let Some(v) = var("GPKI_IDP_COMPONENT_ORIGIN") {
            self.component_origin = v;
        }
        if let Some(v) = var("GPKI_IDP_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
        }
        if let Some(v) = var("GPKI_IDP_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = var("GPKI_IDP_MIGRATE_ON_START") {
            self.migrate_on_start = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// The bounds of every database wait.
    pub fn database_timeouts(&self) -> gpki_idp_store::db::Timeouts {
        gpki_idp_store::db::Timeouts {
            statement: Duration::from_millis(self.database_statement_timeout_ms.max(1)),
            connect: Duration::from_secs(self.database_connect_timeout_secs.max(1)),
            acquire: Duration::from_millis(self.database_acquire_timeout_ms.max(1)),
        }
    }

    /// See [`Config::audit_retention_days`]; `None` keeps every event.
    pub fn audit_retention(&self) -> Option<Duration> {
        (self.audit_retention_days > 0)
            .then(|| Duration::from_secs(self.audit_retention_days.saturating_mul(86400)))
    }

    /// The provider's settings: `[tokens]`, the district's `[passwords]` policy and the retry
    /// rules of `[backchannel_logout]`.
    pub fn provider_settings(&self) -> ProviderSettings {
        let l = &self.backchannel_logout;
        let mut s = self.tokens.provider_settings();
        s.passwords = self.passwords.clone();
        s.logout_allowed_networks = l.networks().unwrap_or_default();
        s.logout_retry_for = Duration::from_secs(l.retry_for_secs);
        s.logout_first_retry = Duration::from_secs(l.first_retry_secs.max(1));
        s.logout_max_retry_interval = Duration::from_secs(l.max_retry_interval_secs.max(1));
        s
    }

    /// See [`Config::request_deadline_ms`].
    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms.max(1))
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            self.data_dir
                .join("gpki-idp.sqlite")
                .to_string_lossy()
                .into_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_typos_are_refused() {
        let mut c: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[tokens]\ncode_ttl_secs = 30\n").unwrap();
        assert_eq!(c.tokens.code_ttl_secs, 30);
        c.apply_env(|n| (n == "GPKI_IDP_LISTEN").then(|| "127.0.0.1:7000".to_string()))
            .unwrap();
        assert_eq!(c.listen, "127.0.0.1:7000");
        assert_eq!(c.public_url(), "http://127.0.0.1:7000");
        assert!(c.database_url().ends_with("gpki-idp.sqlite"));
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        assert!(c
            .apply_env(|n| (n == "GPKI_IDP_DATABASE_POOL_SIZE").then(|| "many".to_string()))
            .is_err());
    }
}
