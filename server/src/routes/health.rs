//! Probes: `/healthz` (the process answers) and `/readyz` (database and storage work).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// The process answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// Whether the database and the storage work.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub storage: bool,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Database and storage work", body = Readiness), (status = 503, description = "One of them does not", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = sqlx::query("SELECT 1").execute(&state.db.pool).await.is_ok();
    let storage = state.storage.ready().await;
    let status = if database && storage { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { database, storage }))
}
