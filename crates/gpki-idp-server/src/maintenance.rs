//! What the service does in the background while it runs: send the back-channel logout
//! tokens ([`crate::logout_sender`]), prune the audit log past its retention
//! (`audit_retention_days`) and the browser sessions a day after they expired. Every replica
//! prunes; a prune that finds nothing costs one indexed query.

use std::time::Duration;

use actix_web::web;

use crate::app::AppState;

/// How often the audit log and the sessions are pruned, the first time a minute after the start.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const FIRST_PRUNE: Duration = Duration::from_secs(60);

/// Starts the background work on the current runtime; it ends with the runtime.
pub fn start(state: web::Data<AppState>) {
    crate::logout_sender::start(state.clone());
    actix_web::rt::spawn(async move {
        actix_web::rt::time::sleep(FIRST_PRUNE).await;
        loop {
            if let Some(retention) = state.audit_retention {
                prune_once(&state, retention).await;
            }
            prune_sessions_once(&state).await;
            actix_web::rt::time::sleep(PRUNE_EVERY).await;
        }
    });
}

/// One round of pruning expired sessions, counted in the metrics; a failure is logged and
/// tried again next time.
pub async fn prune_sessions_once(state: &AppState) {
    match state.provider.prune_sessions().await {
        Ok(pruned) => state.metrics.sessions_pruned.inc_by(pruned),
        Err(e) => {
            state
                .metrics
                .maintenance_failures
                .with_label_values(&["sessions_prune"])
                .inc();
            tracing::warn!("type" = "maintenance", task = "sessions_prune", error = %e);
        }
    }
}

/// One pruning round, counted in the metrics; a failure is logged and tried again next time.
pub async fn prune_once(state: &AppState, retention: Duration) {
    match state.provider.prune_audit(retention).await {
        Ok(pruned) => state.metrics.audit_pruned.inc_by(pruned),
        Err(e) => {
            state
                .metrics
                .maintenance_failures
                .with_label_values(&["audit_prune"])
                .inc();
            tracing::warn!("type" = "maintenance", task = "audit_prune", error = %e);
        }
    }
}
