//! The HTTP surface: one module per resource, all under `/api/v1` except the probes.

pub(crate) mod account;
pub mod admin;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod avatar;
pub(crate) mod billing;
pub(crate) mod credits;
pub(crate) mod download;
pub(crate) mod email;
pub(crate) mod health;
pub(crate) mod login;
pub(crate) mod pages;
pub(crate) mod previews;
pub(crate) mod privacy;
pub(crate) mod security;
pub(crate) mod sessions;
pub(crate) mod support;
pub(crate) mod tasks;
pub(crate) mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use utoipa_scalar::Servable;

use crate::AppState;

/// The OpenAPI document of [`api`], as `/api/v1/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::openapi::with_common_responses(api(0).into_openapi())
}

/// The API's route table: each route is registered with its OpenAPI operation (the paths come
/// from the handlers' `#[utoipa::path]`), so the document lists exactly what is served.
/// `upload_limit` is the body limit of `POST /uploads`; every other route keeps axum's default.
pub fn api(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(login::providers))
        .routes(routes!(login::join))
        .routes(routes!(login::list, login::link))
        .routes(routes!(login::unlink))
        .routes(routes!(account::me, account::update, privacy::delete_me))
        .routes(routes!(account::change_password))
        .routes(
            routes!(avatar::upload, avatar::get, avatar::remove)
                .layer(DefaultBodyLimit::max(avatar::MAX_BYTES + (64 << 10))),
        )
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(sessions::revoke_others))
        .routes(routes!(privacy::change_email))
        .routes(routes!(email::verify))
        .routes(routes!(email::resend))
        .routes(routes!(email::request_reset))
        .routes(routes!(email::reset))
        .routes(routes!(privacy::start_export))
        .routes(routes!(privacy::get_export))
        .routes(routes!(privacy::download_export))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(uploads::create).layer(DefaultBodyLimit::max(upload_limit)))
        .routes(routes!(uploads::presign))
        .routes(routes!(uploads::get))
        .routes(routes!(uploads::complete))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(tasks::quote))
        .routes(routes!(previews::create))
        .routes(routes!(tasks::get))
        .routes(routes!(tasks::cancel))
        .routes(routes!(tasks::other_format))
        .routes(routes!(tasks::output))
        .routes(routes!(tasks::picture))
        .routes(routes!(tasks::events))
        .routes(routes!(credits::get))
        .routes(routes!(support::list, support::create))
        .routes(routes!(support::get))
        .routes(routes!(support::follow_up))
        .routes(routes!(support::contact))
        .routes(routes!(billing::catalog))
        .routes(routes!(billing::account))
        .routes(routes!(billing::checkout))
        .routes(routes!(billing::checkout_state))
        .routes(routes!(billing::portal))
        .routes(routes!(billing::change_subscription))
        .routes(routes!(billing::webhook).layer(DefaultBodyLimit::max(billing::WEBHOOK_LIMIT)))
        .routes(routes!(admin::overview::overview))
        .routes(routes!(admin::jobs::list))
        .routes(routes!(admin::jobs::get, admin::jobs::delete))
        .routes(routes!(admin::jobs::output))
        .routes(routes!(admin::jobs::picture))
        .routes(routes!(admin::jobs::retry))
        .routes(routes!(admin::jobs::cancel))
        .routes(routes!(admin::users))
        .routes(routes!(admin::users::get, admin::users::delete))
        .routes(routes!(admin::users::adjust_credits))
        .routes(routes!(admin::users::disable))
        .routes(routes!(admin::billing::overview))
        .routes(routes!(admin::billing::events))
        .routes(routes!(admin::billing::clear_hold))
        .routes(routes!(admin::support::inbox))
        .routes(routes!(admin::support::open))
        .routes(routes!(admin::support::reply))
        .routes(routes!(admin::support::change_state))
        .routes(routes!(admin::usage))
        .routes(routes!(admin::usage_daily))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::workers))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

pub fn router(state: AppState) -> Router {
    let upload_limit = state.config.max_upload_bytes as usize + (1 << 20);
    let (api, doc) = api(upload_limit).split_for_parts();
    let doc = crate::openapi::with_common_responses(doc);
    let doc = crate::openapi::with_unavailable_modes(doc, state.generator.is_some());
    // Serialised once: the document does not change while the server runs.
    let json = axum::body::Bytes::from(serde_json::to_vec(&doc).expect("the document serialises"));
    let scalar = utoipa_scalar::Scalar::with_url("/api/docs", doc);
    let api = api.route(
        "/api/v1/openapi.json",
        get(move || async move {
            ([(axum::http::header::CONTENT_TYPE, "application/json")], json.clone())
        }),
    );
    let pages = pages::router(&state.config.console_dir)
        .route("/billing/return", get(billing::checkout_return))
        .route("/auth/{provider}/start", get(login::start))
        .route("/auth/{provider}/callback", get(login::callback));
    let app = api.merge(pages);
    let app = match state.config.metrics_bind {
        Some(_) => app,
        None => app.route("/metrics", get(security::metrics)),
    };
    app.merge(scalar)
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
