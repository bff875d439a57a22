//! Liveness and readiness.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database and the short-lived store answer.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.provider.directory.ping().await.is_ok();
    let store = state.provider.ephemeral.ping().await.is_ok();
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
