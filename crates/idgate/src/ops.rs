//! Operations endpoints: liveness, readiness. (`/metrics` is served by the Prometheus
//! middleware mounted in `startup`.)

use actix_web::{HttpResponse, web};
use idgate_store::Store;
use serde_json::json;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers and its schema is current.
pub async fn readyz(store: web::Data<Store>) -> HttpResponse {
    match store.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({
            "status": "ready",
            "database": store.backend().to_string(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "unavailable",
                "reason": err.to_string(),
            }))
        }
    }
}
