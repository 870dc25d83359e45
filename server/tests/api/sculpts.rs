//! Sculpts: a whole model of what a photo shows, made by an AI generation provider (image to
//! 3D), against the stand-in that speaks Meshy's and Tripo's documented image-to-3D APIs and
//! returns real GLB files written by trimesh (`tests/generation/standin.py`). A phone's JPEG,
//! written by Pillow, reaches the provider with its coded picture byte for byte and without its
//! EXIF (where it was taken) or comment; another format goes as a PNG of the same pixels; the
//! broken model comes back one closed solid at the provider's price; a photo
//! with nothing in it fails with the provider's words and costs nothing; and sculpts are
//! refused, saying why, without a provider or without a photo.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::helpers::{FetchJson, TestApp, camera};
use crate::prompts::{
    CREDITS, another_format_is_free, app_with, control, fitted_mm3, generated_mode_is_off,
    provider, read_back,
};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// camera.png as a phone's JPEG, written by Pillow with EXIF (the camera, the time and where)
/// and a comment (`tests/generation/phone_photo.py`), and what Pillow reads back from it.
fn phone_photo() -> (Vec<u8>, Value) {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("phone.jpg");
    let run = std::process::Command::new("python3")
        .arg(format!("{root}/tests/generation/phone_photo.py"))
        .arg(format!("{root}/tests/data/camera.png"))
        .arg(&path)
        .arg("1")
        .output()
        .expect("python3 runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    (std::fs::read(path).unwrap(), serde_json::from_slice(&run.stdout).unwrap())
}

#[tokio::test]
async fn a_photo_becomes_one_closed_solid_at_the_provider_s_price() {
    let meshy = provider();
    let app = app_with(&meshy, "meshy").await;
    let client = app.user("sculpt@example.com").await;
    let (photo, written) = phone_photo();
    assert_eq!((&written["gps"], &written["comment"]), (&json!(4), &json!("at home")), "{written}");
    let upload = app.upload_ok(&client, "phone.jpg", photo).await;

    let body = json!({ "upload_id": upload, "mode": "sculpt", "format": "stl" });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!(quote["cost"], CREDITS, "the provider's price, not the photo's pixels: {quote}");
    let done = app.run_ok(&client, &body).await;
    let result = &done["result"];
    let check = &result["check"];
    assert_eq!((&check["closed"], &check["manifold"]), (&json!(true), &json!(true)), "{check}");
    assert_eq!(check["shells"], 1, "{check}");
    assert_eq!(result["model"]["repairs"]["holes_filled"], 1, "{result}");
    assert!(result["stages"]["generate"].as_f64().is_some_and(|s| s > 0.0), "{result}");
    let (volume, closed) = read_back(&app, &client, &done).await;
    let expected = fitted_mm3(&control(&meshy, "models").await["broken"]);
    assert!(closed && (volume / expected - 1.0).abs() < 1e-4, "{volume} against {expected}");
    assert_eq!(app.credits(&client).await["balance"], 20 - CREDITS, "exactly the quote");
    // The privacy page names where photos go.
    let page = reqwest::get(format!("{}/privacy", app.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("sent to <a href=\"https://www.meshy.ai\">Meshy</a>"), "{page}");

    // Meshy's image-to-3D got the photo once: its picture as the phone coded it, and nothing
    // of where, when or with what it was taken.
    let tasks = control(&meshy, "tasks").await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!((&tasks[0]["api"], &tasks[0]["kind"]), (&json!("meshy"), &json!("image")));
    let image = &tasks[0]["image"];
    assert_eq!(
        (&image["format"], &image["pixels_sha256"]),
        (&json!("jpeg"), &written["pixels_sha256"])
    );
    assert_eq!((&image["exif"], &image["comment"]), (&json!(0), &json!("")), "{image}");

    another_format_is_free(&app, &client, &meshy, &done).await;
}

#[tokio::test]
async fn tripo_gets_a_tiff_as_a_png_of_the_same_pixels() {
    let tripo = provider();
    let app = app_with(&tripo, "tripo").await;
    let client = app.user("sculpt-tripo@example.com").await;
    // scikit-image's astronaut, as a TIFF: neither provider reads TIFF.
    let astronaut = image::load_from_memory(&data("astronaut.png")).unwrap();
    let mut tiff = std::io::Cursor::new(Vec::new());
    astronaut.write_to(&mut tiff, image::ImageFormat::Tiff).unwrap();
    let upload = app.upload_ok(&client, "astronaut.tiff", tiff.into_inner()).await;

    let body =
        json!({ "upload_id": upload, "mode": "sculpt", "params": { "fit_mm": [30, 30, 30] } });
    let done = app.run_ok(&client, &body).await;
    let tasks = control(&tripo, "tasks").await;
    let image = &tasks[0]["image"];
    assert_eq!((&tasks[0]["api"], &tasks[0]["kind"]), (&json!("tripo"), &json!("image")));
    assert_eq!(
        (&image["format"], &image["width"], &image["height"]),
        (&json!("png"), &json!(512), &json!(512))
    );
    assert_eq!(image["pixels_sha256"], sha256(astronaut.to_rgba8().as_raw()), "the same pixels");
    let (volume, closed) = read_back(&app, &client, &done).await;
    let expected = fitted_mm3(&control(&tripo, "models").await["broken"]) / 8.0;
    assert!(closed && (volume / expected - 1.0).abs() < 1e-4, "{volume} against {expected}");
}

#[tokio::test]
async fn a_photo_with_nothing_in_it_fails_with_the_provider_s_words_and_costs_nothing() {
    let meshy = provider();
    let app = app_with(&meshy, "meshy").await;
    let client = app.user("sculpt-blank@example.com").await;
    let blank = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 180, 40]));
    let mut png = std::io::Cursor::new(Vec::new());
    blank.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let upload = app.upload_ok(&client, "blank.png", png.into_inner()).await;
    let task = app.submit_ok(&client, &json!({ "upload_id": upload, "mode": "sculpt" })).await;
    let done = app.wait(&client, task["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("Meshy could not make a model of the photo"), "{error}");
    assert!(error.contains("No object could be found in the image"), "{error}");
    assert!(error.contains("not charged"), "{error}");
    assert_eq!(app.credits(&client).await["balance"], 20);
}

#[tokio::test]
async fn sculpts_need_a_photo_and_a_provider() {
    let meshy = provider();
    let app = app_with(&meshy, "meshy").await;
    let client = app.user("sculpt-wrong@example.com").await;
    let photo = app.upload_ok(&client, "camera.png", camera()).await;
    let font = app.upload_ok(&client, "font.ttf", lithos_engine::text::font::BUNDLED.to_vec());
    let font = font.await;
    for (body, field, says) in [
        (json!({ "mode": "sculpt" }), "upload_id", "is required"),
        (json!({ "upload_id": font, "mode": "sculpt" }), "mode", "need an image upload"),
        (
            json!({ "upload_id": photo, "mode": "sculpt", "params": { "width_mm": 80 } }),
            "width_mm",
            "",
        ),
        (
            json!({ "upload_id": photo, "mode": "sculpt", "params": { "prompt": "a cat" } }),
            "prompt",
            "",
        ),
    ] {
        let response = app.submit(&client, &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().contains(says), "{error}");
    }
    // No free preview: each generation is charged by the provider.
    let body = json!({ "upload_id": photo, "mode": "sculpt" });
    let response = client.post(app.url("/previews")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "mode", "{error}");
    assert_eq!(control(&meshy, "tasks").await, json!([]), "nothing reached the provider");
    assert_eq!(app.credits(&client).await["balance"], 20);

    // Without a provider, sculpts are refused and hidden, as prompts are.
    let app = TestApp::spawn().await;
    let client = app.user("sculpt-off@example.com").await;
    let doc: Value = client.get(app.url("/openapi.json")).fetch_json().await;
    let mode = &doc["components"]["schemas"]["JobMode"];
    assert!(mode["x-unavailable"]["sculpt"].as_str().unwrap().contains("no AI generation"));
    assert_eq!(mode["x-input"]["sculpt"], "image", "{mode}");
    assert_eq!(mode["x-generated"], json!(["sculpt", "prompt"]), "{mode}");
    let photo = app.upload_ok(&client, "camera.png", camera()).await;
    let body = json!({ "upload_id": photo, "mode": "sculpt" });
    generated_mode_is_off(&app, &client, &body, "sculpt").await;
}
