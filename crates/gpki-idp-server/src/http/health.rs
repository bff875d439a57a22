//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// How long readiness waits for each store: well inside a probe's period and timeout.
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The database and the short-lived store answer, each within [`PROBE_WAIT`].
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = state.provider.ready(PROBE_WAIT).await;
    let (db, store) = (ready.database, ready.store);
    let body = json!({"status": if db && store { "ready" } else { "unavailable" }, "database": db, "store": store});
    if db && store {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(state.provider.verifier.as_deref());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
