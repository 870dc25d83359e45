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

    // An adaptive arc: the form's expectation follows what the task makes, well under the
    // full grid's count.
    let mut adaptive = body.clone();
    adaptive["params"]["max_error_mm"] = json!(0.05);
    let preview: Value = user.post(app.url("/previews")).json(&adaptive).fetch_json().await;
    let expected = preview["expected_triangles"].as_u64().unwrap();
    let made = app.run_ok(&user, &adaptive).await["result"]["triangles"].as_u64().unwrap();
    let all = task["result"]["triangles"].as_u64().unwrap();
    assert!(made * 2 < all, "adaptive columns: {made} triangles against {all}");
    assert!(expected <= 2 * made && 2 * expected >= made, "expected {expected}, made {made}");

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
    crate::helpers::inside_one_window(crate::helpers::MINUTE_MS).await;
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

#[tokio::test]
async fn a_palette_relief_previews_its_colours_and_its_task_lists_the_swaps() {
    let app = TestApp::spawn().await;
    let user = app.user("palette@example.org").await;
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    let params = json!({ "palette": "#1a1a1a:0.6,#3a6ea5:1.0,#ffffff:3", "layer_mm": 0.1,
                         "base_layers": 5, "relief_mm": 2.0, "max_grid": 128 });
    let body = json!({ "upload_id": upload, "mode": "relief", "format": "3mf", "params": params });
    // The preview shows the colours instead of a backlit view.
    let preview: Value = user.post(app.url("/previews")).json(&body).fetch_json().await;
    assert_eq!(preview["backlit_png"], Value::Null);
    let colours = STANDARD.decode(preview["colours_png"].as_str().unwrap()).unwrap();
    let colours = image::load_from_memory(&colours).unwrap().to_rgba8();
    assert_eq!(u64::from(colours.width()), preview["grid"][0].as_u64().unwrap());
    assert!(colours.pixels().any(|p| p[2] > p[0] + 20), "the blue filament shows somewhere");

    // The task: its swaps in whole layers, rising, and the colours stored beside it.
    let task = app.run_ok(&user, &body).await;
    let swaps = task["result"]["swaps"].as_array().unwrap();
    assert_eq!(swaps.len(), 2, "{task}");
    let layers: Vec<u64> = swaps.iter().map(|s| s["layer"].as_u64().unwrap()).collect();
    assert!(layers[0] > 5 && layers[0] < layers[1] && layers[1] <= 25, "{layers:?}");
    for swap in swaps {
        let z = swap["z_mm"].as_f64().unwrap();
        assert!((z - swap["layer"].as_f64().unwrap() * 0.1).abs() < 1e-6, "{swap}");
    }
    assert_eq!(swaps[1]["colour"], "#ffffff");
    let listed = task["result"]["pictures"].as_array().unwrap();
    assert_eq!(listed, &[json!("thumbnail"), json!("colours")]);
    let id = task["id"].as_str().unwrap();
    let picture = user.get(app.url(&format!("/tasks/{id}/pictures/colours"))).send().await.unwrap();
    assert_eq!(picture.status(), StatusCode::OK);
    let theirs = app.user("palette-other@example.org").await;
    let refused = theirs.get(app.url(&format!("/tasks/{id}/pictures/colours"))).send().await;
    assert_eq!(refused.unwrap().status(), StatusCode::NOT_FOUND, "another user's picture");

    // A palette on an arc is refused, naming the field.
    let arc = json!({ "upload_id": upload, "mode": "relief",
                      "params": { "palette": "#000000:1", "shape": "arc" } });
    let refused = user.post(app.url("/previews")).json(&arc).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = refused.json().await.unwrap();
    assert!(error.to_string().contains("palette"), "{error}");
}
