//! The HTTP surface: one module per resource, all under `/api/v1` except the probes.

pub(crate) mod account;
pub mod admin;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod credits;
pub(crate) mod health;
pub(crate) mod pages;
pub(crate) mod security;
pub(crate) mod tasks;
pub(crate) mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use utoipa::OpenApi;
use utoipa_scalar::Servable;

use crate::AppState;

pub fn router(state: AppState) -> Router {
    let upload_limit = state.config.max_upload_bytes as usize + (1 << 20);
    let api = Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(account::me).patch(account::update))
        .route("/me/password", post(account::change_password))
        .route("/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api-keys/{id}", axum::routing::delete(api_keys::revoke))
        .route("/uploads", post(uploads::create).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/uploads/presign", post(uploads::presign))
        .route("/uploads/{id}", get(uploads::get))
        .route("/uploads/{id}/complete", post(uploads::complete))
        .route("/tasks", get(tasks::list).post(tasks::create))
        .route("/tasks/quote", post(tasks::quote))
        .route("/tasks/{id}", get(tasks::get))
        .route("/tasks/{id}/cancel", post(tasks::cancel))
        .route("/tasks/{id}/output", get(tasks::output))
        .route("/tasks/{id}/events", get(tasks::events))
        .route("/admin/overview", get(admin::overview::overview))
        .route("/admin/jobs", get(admin::jobs::list))
        .route("/admin/jobs/{id}", get(admin::jobs::get).delete(admin::jobs::delete))
        .route("/admin/jobs/{id}/output", get(admin::jobs::output))
        .route("/admin/jobs/{id}/retry", post(admin::jobs::retry))
        .route("/admin/jobs/{id}/cancel", post(admin::jobs::cancel))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}", get(admin::users::get))
        .route("/admin/users/{id}/credits", post(admin::users::adjust_credits))
        .route("/admin/users/{id}/disable", post(admin::users::disable))
        .route("/admin/usage", get(admin::usage))
        .route("/admin/usage/daily", get(admin::usage_daily))
        .route("/admin/audit", get(admin::audit_log))
        .route("/admin/workers", get(admin::workers))
        .route("/credits", get(credits::get))
        .route("/openapi.json", get(openapi_json));
    let pages = pages::router(&state.config.console_dir);
    let app = Router::new()
        .nest("/api/v1", api)
        .merge(pages)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let app = match state.config.metrics_bind {
        Some(_) => app,
        None => app.route("/metrics", get(security::metrics)),
    };
    app.merge(utoipa_scalar::Scalar::with_url("/api/docs", crate::openapi::ApiDoc::openapi()))
        .route_layer(axum::middleware::from_fn(crate::telemetry::track))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(security::errors))
        .layer(axum::middleware::from_fn_with_state(state, security::headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned();
                    let agent = request
                        .headers()
                        .get(axum::http::header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned();
                    let ip = request
                        .extensions()
                        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                        .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string());
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or_else(|| request.uri().path().to_owned(), |p| p.as_str().to_owned());
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        route = %route,
                        ip = %ip,
                        user_agent = %agent,
                        user_id = tracing::field::Empty,
                    )
                })
                // One line per request with its status and latency.
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// `/metrics` alone, for the listener at `metrics_bind`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(security::metrics))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(security::errors))
        .layer(axum::middleware::from_fn_with_state(state, security::headers))
}

/// `GET /api/v1/openapi.json`.
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(crate::openapi::ApiDoc::openapi())
}

/// Cursor pagination: `?limit=` (1..=100, default 20) and an opaque `?cursor=`.
#[derive(Debug, serde::Deserialize)]
pub struct Page {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl Page {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(20).clamp(1, 100)
    }
}
