//! `GET /admin/overview`: the console's live charts over a 5-minute, 1-hour or 24-hour window.
//!
//! Two indexed reads: the tasks that finished in the window (`tasks_finished`) and the counts
//! of queued and running tasks (`tasks_status`). Buckets and percentiles are computed here, so
//! the cost grows with the jobs in the window, never with the table.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::views::{Counts, Overview, Series, Totals};

use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};

/// Buckets per chart.
const BUCKETS: i64 = 30;

#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    /// `5m`, `1h` or `24h`.
    pub window: Option<String>,
}

/// A window's length in milliseconds.
fn window_ms(window: &str) -> ApiResult<i64> {
    match window {
        "5m" => Ok(5 * 60_000),
        "1h" => Ok(3_600_000),
        "24h" => Ok(24 * 3_600_000),
        _ => Err(ApiError::invalid("window", "must be 5m, 1h or 24h")),
    }
}

/// The `q` quantile of sorted `values` (nearest rank), or `None` when empty.
pub fn quantile(values: &[i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[derive(sqlx::FromRow)]
struct Finished {
    status: String,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: i64,
    megapixels: Option<f64>,
    triangles: Option<i64>,
}

/// The SQL of the overview's two reads (the README reports their plans).
pub const FINISHED_SQL: &str = "SELECT status, created_at, started_at, finished_at, megapixels, \
     triangles FROM tasks WHERE finished_at >= $1";
pub const BACKLOG_SQL: &str =
    "SELECT status, COUNT(*) FROM tasks WHERE status IN ('queued', 'running') GROUP BY status";

#[utoipa::path(get, path = "/api/v1/admin/overview", tag = "admin", params(("window" = Option<String>, Query, description = "5m, 1h (default) or 24h")), responses((status = 200, description = "Counts and per-bucket series: jobs per minute, megapixels and triangles per second, queue latency, p50 and p95 job time", body = Overview), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<WindowQuery>,
) -> ApiResult<Json<Overview>> {
    let window = query.window.unwrap_or_else(|| "1h".into());
    let span = window_ms(&window)?;
    let now = crate::now_ms();
    let since = now - span;
    let bucket = span / BUCKETS;
    let rows: Vec<Finished> =
        sqlx::query_as(FINISHED_SQL).bind(since).fetch_all(&state.db.pool).await?;
    let backlog: Vec<(String, i64)> = sqlx::query_as(BACKLOG_SQL).fetch_all(&state.db.pool).await?;
    let backlog_of = |s: &str| backlog.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);

    let n = BUCKETS as usize;
    let mut done = vec![0u32; n];
    let mut failed = vec![0u32; n];
    let mut megapixels = vec![0f64; n];
    let mut triangles = vec![0f64; n];
    let mut durations: Vec<Vec<i64>> = vec![Vec::new(); n];
    let mut waits: Vec<Vec<i64>> = vec![Vec::new(); n];
    let (mut all_durations, mut all_waits) = (Vec::new(), Vec::new());
    // Canceled tasks have a finish time too; they are neither processed nor failed.
    for row in rows.iter().filter(|r| r.status != "canceled") {
        let i = (((row.finished_at - since) / bucket).clamp(0, BUCKETS - 1)) as usize;
        if row.status == "failed" {
            failed[i] += 1;
        } else {
            done[i] += 1;
            megapixels[i] += row.megapixels.unwrap_or(0.0);
            triangles[i] += row.triangles.unwrap_or(0) as f64;
        }
        if let Some(started) = row.started_at {
            durations[i].push(row.finished_at - started);
            waits[i].push(started - row.created_at);
            all_durations.push(row.finished_at - started);
            all_waits.push(started - row.created_at);
        }
    }
    for v in durations.iter_mut().chain(waits.iter_mut()) {
        v.sort_unstable();
    }
    all_durations.sort_unstable();
    all_waits.sort_unstable();
    let per_minute = 60_000.0 / bucket as f64;
    let per_second = 1000.0 / bucket as f64;
    let series = Series {
        t: (0..BUCKETS).map(|i| (since + i * bucket) / 1000).collect(),
        jobs_per_minute: done.iter().map(|&c| f64::from(c) * per_minute).collect(),
        failed_per_minute: failed.iter().map(|&c| f64::from(c) * per_minute).collect(),
        megapixels_per_second: megapixels.iter().map(|m| m * per_second).collect(),
        triangles_per_second: triangles.iter().map(|t| t * per_second).collect(),
        queue_latency_ms: waits.iter().map(|w| quantile(w, 0.5)).collect(),
        p50_ms: durations.iter().map(|d| quantile(d, 0.5)).collect(),
        p95_ms: durations.iter().map(|d| quantile(d, 0.95)).collect(),
    };
    Ok(Json(Overview {
        window,
        bucket_seconds: bucket / 1000,
        now,
        counts: Counts {
            processed: done.iter().map(|&c| i64::from(c)).sum(),
            failed: failed.iter().map(|&c| i64::from(c)).sum(),
            running: backlog_of("running"),
            queued: backlog_of("queued"),
        },
        totals: Totals {
            p50_ms: quantile(&all_durations, 0.5),
            p95_ms: quantile(&all_durations, 0.95),
            queue_latency_p50_ms: quantile(&all_waits, 0.5),
            queue_latency_p95_ms: quantile(&all_waits, 0.95),
        },
        series,
    }))
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 0.95), Some(95));
        assert_eq!(quantile(&[7], 0.95), Some(7));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
