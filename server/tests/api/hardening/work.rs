//! A task's work is bounded before it is charged, and its time while it runs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{error_of, speck};
use crate::helpers::{FetchJson, TestApp, png};

#[tokio::test]
async fn vanishing_lengths_and_unbounded_work_are_refused_before_any_credit_moves() {
    let app = TestApp::spawn().await;
    let user = app.user("probe@example.org").await;
    let upload = app.upload_ok(&user, "speck.png", speck()).await;
    let before = app.credits(&user).await;
    let cases = [
        // The probe's request: 2^52 layers, whose voxel count wrapped to 16,384 (cost 1).
        (
            json!({ "depth_mm": 1, "pixel_mm": 2.220446049250313e-16, "bevel_mm": 0 }),
            "solid",
            "pixel_mm",
        ),
        (json!({ "width_mm": 1e-40 }), "relief", "width_mm"),
        (json!({ "pixel_mm": 1e-40 }), "relief", "pixel_mm"),
        (json!({ "pixel_mm": 0 }), "relief", "pixel_mm"),
        (json!({ "base_mm": 5e-324 }), "relief", "base_mm"),
        (json!({ "depth_mm": -1 }), "solid", "depth_mm"),
        (json!({ "bevel_mm": 1e-40 }), "solid", "bevel_mm"),
        (json!({ "pixel_mm": 1e300 }), "relief", "pixel_mm"),
        // Lengths that are each fine, but whose work is not: 4e9 voxels.
        (json!({ "pixel_mm": 0.001, "depth_mm": 1000 }), "solid", "params"),
        // A 10 m model.
        (json!({ "pixel_mm": 1000, "grid": 60 }), "relief", "pixel_mm"),
    ];
    for (params, mode, field) in cases {
        let body = json!({ "upload_id": upload, "mode": mode, "params": params });
        for route in ["/tasks", "/tasks/quote"] {
            let response = user.post(app.url(route)).json(&body).send().await.unwrap();
            let (status, error) = error_of(response).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{params} on {route}: {error}");
            assert_eq!(error["error"]["field"], field, "{params}: {error}");
            let message = error["error"]["message"].as_str().unwrap();
            assert!(!message.contains("--"), "API messages name fields, not flags: {message}");
        }
    }
    let after = app.credits(&user).await;
    assert_eq!(after["balance"], before["balance"], "not a credit moved");
    assert_eq!(after["entries"].as_array().unwrap().len(), 1, "only the welcome grant: {after}");
    let tasks: Value = user.get(app.url("/tasks")).fetch_json().await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 0, "no task was made");
}

#[tokio::test]
async fn a_task_past_its_time_limit_is_stopped_its_credits_released_and_its_worker_freed() {
    let limit = Duration::from_millis(300);
    let app = TestApp::spawn_with(|c| {
        c.plan_time_limits.insert("free".into(), limit);
    })
    .await;
    let user = app.user("slow@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(64)).await;
    let start = app.credits(&user).await["balance"].as_i64().unwrap();
    // 4096 x 4096 grid points from a 64-pixel image: 33 million triangles, seconds of work.
    let big = json!({ "upload_id": upload, "mode": "relief", "params": { "grid": 4096 } });
    let response = app.submit(&user, &big).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let task: Value = response.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert!(task["cost"].as_i64().unwrap() >= 16, "{task}");
    let done = app.wait(&user, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("time limit of 0.3 s") && error.contains("released"), "{error}");
    let ran_ms = done["finished_at"].as_i64().unwrap() - done["started_at"].as_i64().unwrap();
    eprintln!("watchdog: stopped {} ms after the limit", ran_ms - limit.as_millis() as i64);
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"].as_i64().unwrap(), start, "every credit came back");
    let ledger = crate::helpers::task_ledger(&credits, id);
    let cost = task["cost"].as_i64().unwrap();
    assert_eq!(ledger, [("reserve".to_owned(), -cost), ("release".to_owned(), cost)]);
    // The worker is free again: a small task runs to the end.
    let small = json!({ "upload_id": upload, "mode": "relief", "params": { "width_mm": 20 } });
    app.run_ok(&user, &small).await;
}
