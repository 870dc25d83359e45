//! The plans' counted limits, answered with 429, `Retry-After` and the limit's name, and
//! taking nothing when they refuse: uploads a minute, megabytes a day, tasks a minute.
//! (Three replicas sharing them: `tests/cluster/limits.rs`.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DAY_MS, FetchJson, MINUTE_MS, TestApp, inside_one_window, png};

/// A PNG of `size`² pseudo-random grey levels, which no compressor shrinks.
fn noise(size: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let image = image::GrayImage::from_fn(size, size, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Luma([(state >> 24) as u8])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// The refusal's `Retry-After` (checked to be within `window` seconds) and message.
async fn refusal(response: reqwest::Response, window: u64) -> String {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=window).contains(&retry), "Retry-After {retry} within the window");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn uploads_a_minute_and_megabytes_a_day_are_counted_per_account() {
    let app = TestApp::spawn_with(|c| {
        let free = &mut c.billing.plans[0].limits;
        free.uploads_per_minute = Some(3);
        free.upload_mb_per_day = Some(1);
    })
    .await;
    let user = app.user("uploads@example.org").await;
    let photo = noise(800);
    // What is counted below falls in one minute and one day.
    inside_one_window(DAY_MS).await;
    inside_one_window(MINUTE_MS).await;
    assert!(photo.len() > 1 << 19, "noise does not compress: over half a megabyte");
    app.upload_ok(&user, "one.png", photo.clone()).await;
    // A second would pass the day's megabyte: refused, and not counted as an upload.
    let message = refusal(app.upload(&user, "two.png", photo.clone()).await, 86_400).await;
    assert!(message.contains("1 MB of uploads a day (upload_mb_per_day)"), "{message}");
    app.upload_ok(&user, "small.png", png(16)).await;
    app.upload_ok(&user, "small.png", png(16)).await;
    let message = refusal(app.upload(&user, "small.png", png(16)).await, 60).await;
    assert!(message.contains("3 uploads a minute (uploads_per_minute)"), "{message}");
    let uploads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads")
        .fetch_one(&app.running.as_ref().unwrap().db.pool)
        .await
        .unwrap();
    assert_eq!(uploads, 3, "refused uploads are not stored");
    // Another account has its own budget.
    let other = app.user("other@example.org").await;
    app.upload_ok(&other, "one.png", photo).await;
}

#[tokio::test]
async fn tasks_a_minute_refuse_without_keeping_or_charging_the_task() {
    let app = TestApp::spawn_with(|c| {
        c.workers = 0;
        c.billing.plans[0].limits.tasks_per_minute = Some(2);
    })
    .await;
    let user = app.user("tasks@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(32)).await;
    inside_one_window(MINUTE_MS).await;
    let body = json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 32 } });
    app.submit_ok(&user, &body).await;
    app.submit_ok(&user, &body).await;
    let before: Value = user.get(app.url("/me")).fetch_json().await;
    let message = refusal(app.submit(&user, &body).await, 60).await;
    assert!(
        message.contains("the free plan allows 2 tasks a minute (tasks_per_minute)"),
        "{message}"
    );
    let after: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(after["credits"], before["credits"], "nothing reserved for a refused task");
    let tasks: Value = user.get(app.url("/tasks")).fetch_json().await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 2);
}
