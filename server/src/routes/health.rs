//! Probes: `/healthz` (the process answers) and `/readyz` (database and storage work).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers", body = serde_json::Value)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Database and storage work", body = serde_json::Value), (status = 503, description = "One of them does not", body = serde_json::Value)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = sqlx::query("SELECT 1").execute(&state.db.pool).await.is_ok();
    let storage = state.storage.ready().await;
    let status = if database && storage { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "database": database, "storage": storage })))
}
