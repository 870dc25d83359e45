//! Probes and metrics, in a test binary of their own: the metrics recorder is process-wide,
//! so in the API suite's binary every other test's tasks would count here too, and a missing
//! series could hide behind another test's.

#[path = "api/helpers.rs"]
#[allow(dead_code, reason = "the API suite's helpers; this binary uses a few")]
mod helpers;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, png};

#[tokio::test]
async fn probes_and_metrics() {
    let app = TestApp::spawn().await;
    let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value =
        reqwest::get(format!("{}/readyz", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(ready, json!({ "database": true, "storage": true }));

    let user = app.user("metrics@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    let task: Value = app.submit_ok(&user, &json!({ "upload_id": upload, "mode": "relief" })).await;
    app.wait(&user, task["id"].as_str().unwrap()).await;
    let metrics =
        reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    for needle in [
        "lithos_http_request_duration_seconds_bucket{",
        "route=\"/api/v1/tasks/{id}\"",
        "lithos_tasks_submitted_total{mode=\"relief\"}",
        "lithos_tasks_finished_total{",
        "lithos_queue_depth",
        "lithos_engine_triangles_per_second",
        "lithos_engine_megapixels_per_second",
        "lithos_worker_info{backend=\"cpu\"",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from:\n{metrics}");
    }
    assert!(!metrics.contains(task["id"].as_str().unwrap()), "no series per task id");
    // This process ran exactly one app and one task, so the counters are exact.
    let value = |series: &str| {
        metrics.lines().find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
    };
    assert_eq!(value("lithos_tasks_submitted_total{mode=\"relief\"}"), Some(1.0), "{metrics}");
    assert_eq!(
        value("lithos_tasks_finished_total{mode=\"relief\",outcome=\"succeeded\"}"),
        Some(1.0),
        "{metrics}"
    );
}
