//! Free previews: the task's model on a small grid at the task's size, with a lithophane's
//! backlit view; no credits spent and nothing stored; rate-limited; someone else's upload, a
//! scan and a bad field refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, camera, png};

#[tokio::test]
async fn a_preview_shows_the_task_s_model_for_free() {
    let app = TestApp::spawn().await;
    let user = app.user("preview@example.org").await;
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    let before = app.credits(&user).await;
    let body = json!({ "upload_id": upload, "mode": "lithophane",
                       "params": { "width_mm": 80, "shape": "arc", "arc_deg": 90 } });
    let preview: Value = user.post(app.url("/previews")).json(&body).fetch_json().await;
    // A GLB of at most 256 points a side, and the backlit view as a PNG.
    let glb = STANDARD.decode(preview["glb"].as_str().unwrap()).unwrap();
    assert_eq!(&glb[..4], b"glTF");
    assert_eq!(preview["grid"], json!([256, 256]));
    let backlit = STANDARD.decode(preview["backlit_png"].as_str().unwrap()).unwrap();
    let backlit = image::load_from_memory(&backlit).unwrap();
    assert!(backlit.width() >= 200, "{}", backlit.width());
    // Free, and nothing made.
    assert_eq!(app.credits(&user).await, before, "no credits spent, no ledger entry");
    let tasks: Value = user.get(app.url("/tasks")).fetch_json().await;
    assert_eq!(tasks["tasks"], json!([]));

    // The task makes the same model at full detail: the same size.
    let task = app.run_ok(&user, &body).await;
    let full = &task["result"]["size_mm"];
    for k in 0..3 {
        let (a, b) = (preview["size_mm"][k].as_f64().unwrap(), full[k].as_f64().unwrap());
        assert!((a - b).abs() < 0.5, "size {k}: preview {a} vs task {b}");
    }
    assert!(
        preview["triangles"].as_u64().unwrap() * 3 < task["result"]["triangles"].as_u64().unwrap()
    );

    // A relief has no backlit view; a grid spacing keeps the full grid's width.
    let relief = json!({ "upload_id": upload, "mode": "relief", "params": { "pixel_mm": 0.5 } });
    let preview: Value = user.post(app.url("/previews")).json(&relief).fetch_json().await;
    assert_eq!(preview["backlit_png"], Value::Null);
    assert!((preview["size_mm"][0].as_f64().unwrap() - 511.0 * 0.5).abs() < 0.01, "{preview}");
}

#[tokio::test]
async fn previews_are_refused_for_others_uploads_scans_bad_fields_and_past_the_limit() {
    let app = TestApp::spawn().await;
    let user = app.user("mine@example.org").await;
    let other = app.user("theirs@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(8)).await;
    let refused = |client: &reqwest::Client, body: Value| {
        let request = client.post(app.url("/previews")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body["error"]["field"].as_str().unwrap_or_default().to_owned())
        }
    };
    let body =
        |params: Value| json!({ "upload_id": upload, "mode": "lithophane", "params": params });
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    assert_eq!(refused(&other, body(json!({}))).await, (unprocessable, "upload_id".into()));
    assert_eq!(
        refused(&user, body(json!({ "min_mm": -1 }))).await,
        (unprocessable, "min_mm".into())
    );
    // A scan is meshed by its task.
    let dir = tempfile::tempdir().unwrap();
    crate::volumes::write_cases("nifti_cases.py", dir.path());
    let nifti = std::fs::read(dir.path().join("phantom.nii")).unwrap();
    let response = app.upload(&user, "phantom.nii", nifti).await;
    let scan: Value = response.json().await.unwrap();
    let volume = json!({ "upload_id": scan["id"], "mode": "volume" });
    assert_eq!(refused(&user, volume).await, (unprocessable, "upload_id".into()));

    // 60 a minute, in fixed windows: start well inside one.
    let into_minute =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            % 60_000;
    if into_minute > 40_000 {
        tokio::time::sleep(std::time::Duration::from_millis(60_500 - into_minute as u64)).await;
    }
    // A mask that keeps nothing is found by the engine, so it counts; the refusals above did
    // not.
    assert_eq!(
        refused(&user, body(json!({ "mask": "threshold", "threshold": 1.0, "invert": true })))
            .await,
        (unprocessable, "threshold".into()),
    );
    let mut answered = 1;
    let limited = loop {
        let response = user.post(app.url("/previews")).json(&body(json!({}))).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        assert_eq!(response.status(), StatusCode::OK);
        answered += 1;
        assert!(answered <= 60, "still answering after 60");
    };
    assert_eq!(answered, 60);
    assert!(limited.headers().contains_key("retry-after"));
    let message: Value = limited.json().await.unwrap();
    assert!(
        message["error"]["message"].as_str().unwrap().contains("60 previews a minute"),
        "{message}"
    );
}
