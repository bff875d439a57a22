//! Prometheus metrics at `GET /metrics`: logins by school, method and outcome; card login
//! latency; token issuance by grant; HTTP requests by route and status; and, read at scrape
//! time, the certificate engine's OCSP/CRL counters and the age and size of each CRL.

use std::time::{Duration, SystemTime};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    pub logins: IntCounterVec,
    pub card_login_seconds: Histogram,
    pub tokens: IntCounterVec,
    pub http_requests: IntCounterVec,
    revocation: IntGaugeVec,
    crl: IntGaugeVec,
    store_errors: IntCounterVec,
    /// Audit events pruned past their retention.
    pub audit_pruned: prometheus::IntCounter,
    /// Browser sessions pruned a day after they expired.
    pub sessions_pruned: prometheus::IntCounter,
    /// Background work that failed, by task.
    pub maintenance_failures: IntCounterVec,
    /// Logout token deliveries by outcome: `sent`, `failed` (tried again), `given_up`.
    pub logout_tokens: IntCounterVec,
    /// Logout tokens waiting to be delivered, and the age of the oldest (seconds).
    pub logout_pending: prometheus::IntGauge,
    pub logout_oldest_pending_seconds: prometheus::IntGauge,
    /// The store counts already added to `store_errors` (database, redis).
    store_seen: std::sync::Mutex<(u64, u64)>,
}

impl Metrics {
    /// Counts a concluded login by its school, factor and audited outcome code.
    pub fn count_login(
        &self,
        school: &gpki_idp_core::model::School,
        factor: gpki_idp_core::factor::Factor,
        outcome: &str,
    ) {
        self.logins
            .with_label_values(&[school.code.as_str(), factor.name(), outcome])
            .inc();
    }

    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let logins = IntCounterVec::new(
            Opts::new(
                "gpki_logins_total",
                "Logins by school, method and outcome code",
            ),
            &["school", "method", "outcome"],
        )?;
        let card_login_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "gpki_card_login_seconds",
                "Certificate login: signature, chain, revocation and binding checks",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let tokens = IntCounterVec::new(
            Opts::new(
                "gpki_token_requests_total",
                "Token endpoint answers by grant and outcome",
            ),
            &["grant", "outcome"],
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "gpki_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )?;
        let revocation = IntGaugeVec::new(
            Opts::new(
                "gpki_revocation_events",
                "Certificate engine counters since start",
            ),
            &["event"],
        )?;
        let crl = IntGaugeVec::new(
            Opts::new(
                "gpki_crl",
                "Loaded CRLs: entries, bytes, age_seconds, seconds_to_next_update",
            ),
            &["url", "field"],
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new(
                "gpki_store_errors_total",
                "Database and Redis failures (not uniqueness conflicts)",
            ),
            &["store"],
        )?;
        let audit_pruned = prometheus::IntCounter::new(
            "gpki_audit_pruned_total",
            "Audit events deleted past audit_retention_days",
        )?;
        let sessions_pruned = prometheus::IntCounter::new(
            "gpki_sessions_pruned_total",
            "Browser sessions (and the portals recorded in them) deleted a day after they expired",
        )?;
        let maintenance_failures = IntCounterVec::new(
            Opts::new(
                "gpki_maintenance_failures_total",
                "Background work that failed, by task",
            ),
            &["task"],
        )?;
        let logout_tokens = IntCounterVec::new(
            Opts::new(
                "gpki_logout_tokens_total",
                "Back-channel logout token deliveries by outcome (sent, failed, given_up)",
            ),
            &["outcome"],
        )?;
        let logout_pending = prometheus::IntGauge::new(
            "gpki_logout_tokens_pending",
            "Back-channel logout tokens waiting to be delivered",
        )?;
        let logout_oldest_pending_seconds = prometheus::IntGauge::new(
            "gpki_logout_oldest_pending_seconds",
            "Age of the oldest back-channel logout token waiting (0 when none)",
        )?;
        registry.register(Box::new(logout_pending.clone()))?;
        registry.register(Box::new(logout_oldest_pending_seconds.clone()))?;
        registry.register(Box::new(audit_pruned.clone()))?;
        registry.register(Box::new(sessions_pruned.clone()))?;
        for c in [
            &logins,
            &tokens,
            &http_requests,
            &store_errors,
            &maintenance_failures,
            &logout_tokens,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(card_login_seconds.clone()))?;
        registry.register(Box::new(revocation.clone()))?;
        registry.register(Box::new(crl.clone()))?;
        Ok(Self {
            registry,
            logins,
            card_login_seconds,
            tokens,
            http_requests,
            revocation,
            crl,
            store_errors,
            audit_pruned,
            sessions_pruned,
            maintenance_failures,
            logout_tokens,
            logout_pending,
            logout_oldest_pending_seconds,
            store_seen: std::sync::Mutex::new((0, 0)),
        })
    }

    /// Adds the stores' failures counted since the last scrape.
    fn read_stores(&self) {
        let (database, redis) = gpki_idp_store::errors::counts();
        if let Ok(mut seen) = self.store_seen.lock() {
            let add = |label: &str, now: u64, before: u64| {
                self.store_errors
                    .with_label_values(&[label])
                    .inc_by(now.saturating_sub(before))
            };
            add("database", database, seen.0);
            add("redis", redis, seen.1);
            *seen = (database, redis);
        }
    }

    /// The text exposition, refreshing the engine's and the stores' figures first.
    pub fn render(&self, engine: Option<&gpki_verify::Verifier>) -> String {
        self.read_stores();
        if let Some(engine) = engine {
            self.read_engine(engine);
        }
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn read_engine(&self, engine: &gpki_verify::Verifier) {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &engine.revocation().stats;
        let pairs = [
            ("ocsp_fetches", &s.ocsp_fetches),
            ("ocsp_cache_hits", &s.ocsp_cache_hits),
            ("ocsp_shared_hits", &s.ocsp_shared_hits),
            ("ocsp_failures", &s.ocsp_failures),
            ("ocsp_stale_served", &s.ocsp_stale_served),
            ("crl_fetches", &s.crl_fetches),
            ("crl_failures", &s.crl_failures),
            ("crl_lookups", &s.crl_lookups),
            ("unavailable_accepted", &s.unavailable_accepted),
            ("ocsp_fetch_micros", &s.ocsp_fetch_micros),
            ("crl_fetch_micros", &s.crl_fetch_micros),
        ];
        for (name, value) in pairs {
            self.revocation
                .with_label_values(&[name])
                .set(value.load(Relaxed) as i64);
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs() as i64;
        for info in engine.revocation().crl_info() {
            let set = |field: &str, v: i64| {
                self.crl
                    .with_label_values(&[info.url.as_str(), field])
                    .set(v)
            };
            set("entries", info.entries as i64);
            set("bytes", info.bytes as i64);
            set("age_seconds", now - info.this_update as i64);
            if let Some(next) = info.next_update {
                set("seconds_to_next_update", next as i64 - now);
            }
        }
    }
}
