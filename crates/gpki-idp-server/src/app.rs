//! Wiring: stores from the configuration, the provider, and the actix-web application.

use std::sync::Arc;

use actix_web::web;
use gpki_idp_core::ephemeral::Ephemeral;
use gpki_idp_core::oidc::Provider;
use gpki_idp_core::store::Directory;
use gpki_idp_store::{db, InProcess, RedisStore, SqlDirectory};

use crate::config::Config;

/// What every handler shares.
pub struct AppState {
    pub provider: Provider,
    /// Public base URL, no trailing slash.
    pub public_url: String,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Origin of the local signing service (HiPKI) the pages talk to.
    pub component_origin: String,
    pub metrics: crate::metrics::Metrics,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The deadline of a request of a school's issuer (`request_deadline_ms`).
    pub request_deadline: std::time::Duration,
    /// How long the audit log keeps an event (`audit_retention_days`); `None`: for ever.
    pub audit_retention: Option<std::time::Duration>,
    /// How logout tokens are sent (`[backchannel_logout]`).
    pub logout: crate::config::LogoutSettings,
}

impl AppState {
    /// The issuer of a school.
    pub fn issuer(&self, school_code: &str) -> String {
        format!("{}/schools/{school_code}", self.public_url)
    }
}

/// Opens the database (migrating when configured) and the short-lived store.
pub async fn open_stores(
    config: &Config,
) -> Result<(Arc<SqlDirectory>, Arc<dyn Ephemeral>), String> {
    let url = config.database_url();
    if !url.starts_with("postgres") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    }
    let timeouts = config.database_timeouts();
    let pool = db::pool_with(&url, config.database_pool_size, &timeouts)
        .map_err(|e| format!("database: {e}"))?;
    let directory = Arc::new(SqlDirectory::new(pool).with_timeouts(&timeouts));
    if config.migrate_on_start {
        directory
            .migrate()
            .await
            .map_err(|e| format!("database: {e}"))?;
    }
    let ephemeral: Arc<dyn Ephemeral> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisStore::connect(url, &config.redis_prefix)
                .await
                .map_err(|e| format!("redis: {e}"))?,
        ),
        None => Arc::new(InProcess::new()),
    };
    Ok((directory, ephemeral))
}

/// Builds the shared state; certificate login is on when trust anchors are configured.
pub fn state(
    config: &Config,
    directory: Arc<dyn Directory>,
    ephemeral: Arc<dyn Ephemeral>,
) -> Result<web::Data<AppState>, String> {
    let public_url = config.public_url();
    let mut provider = Provider::new(directory, ephemeral, config.provider_settings());
    if !config.certificate.trust_anchors.is_empty() {
        let engine = config
            .certificate
            .start()
            .map_err(|e| format!("certificate: {e}"))?;
        if let Some(url) = &config.redis_url {
            // Replicas share OCSP verdicts: the responder is asked once between them.
            let shared = crate::shared_cache::RedisStatusCache::start(url, &config.redis_prefix)?;
            engine
                .revocation()
                .set_shared_cache(std::sync::Arc::new(shared));
        }
        provider = provider.with_verifier(engine);
    }
    Ok(web::Data::new(AppState {
        provider,
        secure_cookies: public_url.starts_with("https://"),
        public_url,
        component_origin: config.component_origin.trim_end_matches('/').to_string(),
        metrics: crate::metrics::Metrics::new().map_err(|e| format!("metrics: {e}"))?,
        trusted_proxies: crate::proxy::parse_ranges(&config.trusted_proxies)?,
        request_deadline: config.request_deadline(),
        audit_retention: config.audit_retention(),
        logout: config.backchannel_logout.clone(),
    }))
}
