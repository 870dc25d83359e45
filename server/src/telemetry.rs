//! Prometheus metrics: request latency per route, tasks by mode and outcome, queue depth,
//! engine throughput, and which backend the workers run on.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process-wide recorder (metrics are global in the `metrics` crate; every app in the
/// process shares it).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program's); then ours
            // only renders what it saw, which is nothing, rather than failing the start.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Records each request's latency under its route pattern (never the raw path, whose ids
/// would make a series per task).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("lithos_http_request_duration_seconds", "route" => route, "method" => method, "status" => status)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let queued: Result<i64, _> =
        sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE status = 'queued'")
            .fetch_one(&state.db.pool)
            .await;
    if let Ok(queued) = queued {
        metrics::gauge!("lithos_queue_depth").set(queued as f64);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
        .into_response()
}
