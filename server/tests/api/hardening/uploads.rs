//! Decompression amplification: the decode budget, row-by-row checks, and uploads in
//! progress per user.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::{connect, error_of, png_bomb};
use crate::helpers::{TestApp, png};

#[tokio::test]
async fn decodes_wait_for_the_memory_budget_and_png_bombs_are_checked_row_by_row() {
    let app = TestApp::spawn_with(|c| {
        c.decode_budget_bytes = 64 << 20;
        c.decode_wait = Duration::from_millis(200);
    })
    .await;
    let user = app.user("bomb@example.org").await;
    let budget = app.running.as_ref().unwrap().decode_budget.clone();
    // Hold all but 1 MiB of the budget, as concurrent decodes would.
    let held = budget.try_reserve(63 << 20, Duration::ZERO).await.unwrap();
    // 4096 x 4096 RGBA (64 MiB decoded) in a few hundred kilobytes: checked in rows, it
    // needs far less than the 1 MiB left, and is stored.
    let bomb = png_bomb(4096);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let response = app.upload(&user, "bomb.png", bomb).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    // A JPEG must be decoded whole (12 MB here): it waits, then gets 503 with Retry-After.
    let photo = image::RgbImage::from_fn(2000, 2000, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut jpeg = Vec::new();
    photo.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    let response = app.upload(&user, "photo.jpg", jpeg.clone()).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"]["code"], "busy");
    drop(held);
    let response = app.upload(&user, "photo.jpg", jpeg).await;
    assert_eq!(response.status(), StatusCode::CREATED, "with the budget free it is stored");
}

/// A task on a PNG or a baseline JPEG larger than its grid reads it a row (a scanline) at a
/// time onto the grid: it takes none of the decode budget and runs while all of it is held,
/// where a BMP's task, decoded whole, waits for the budget.
#[tokio::test]
async fn a_png_or_jpeg_larger_than_its_grid_is_read_in_rows_without_the_decode_budget() {
    let app = TestApp::spawn_with(|c| c.decode_budget_bytes = 64 << 20).await;
    let user = app.user("rows@example.org").await;
    let big = app.upload_ok(&user, "big.png", png_bomb(2048)).await;
    let photo = image::RgbImage::from_fn(1500, 1000, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let encoded = |format: image::ImageFormat| {
        let mut bytes = Vec::new();
        photo.write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
        bytes
    };
    let jpeg = app.upload_ok(&user, "photo.jpg", encoded(image::ImageFormat::Jpeg)).await;
    let bmp = app.upload_ok(&user, "photo.bmp", encoded(image::ImageFormat::Bmp)).await;
    let budget = app.running.as_ref().unwrap().decode_budget.clone();
    let held = budget.try_reserve(64 << 20, Duration::ZERO).await.unwrap();
    assert_eq!(budget.available_bytes(), 0, "the whole budget is held");
    let params = json!({ "max_grid": 200 });
    for (upload, least) in [(&big, 2 * 199 * 199), (&jpeg, 2 * 199 * 132)] {
        let task = json!({ "upload_id": upload, "mode": "relief", "params": params });
        let done = app.run_ok(&user, &task).await;
        let triangles = done["result"]["triangles"].as_u64().unwrap();
        assert!(triangles >= least, "a 200-point grid's surface at least: {triangles}");
    }
    let waiting = app
        .submit_ok(&user, &json!({ "upload_id": bmp, "mode": "relief", "params": params }))
        .await;
    let id = waiting["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let task: Value =
        user.get(app.url(&format!("/tasks/{id}"))).send().await.unwrap().json().await.unwrap();
    assert!(
        matches!(task["status"].as_str(), Some("queued" | "running")),
        "a BMP decoded whole waits for the budget: {task}"
    );
    drop(held);
    assert_eq!(app.wait(&user, id).await["status"], "succeeded");
}

#[tokio::test]
async fn a_user_may_have_only_so_many_uploads_in_progress() {
    let app = TestApp::spawn_with(|c| c.uploads_per_user = 1).await;
    let browser = app.user("many@example.org").await;
    let (api, key) = app.api_client(&browser).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 5000\r\n\r\n--XX\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app.upload(&api, "b.png", png(16)).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.upload_ok(&api, "b.png", png(16)).await;
}
