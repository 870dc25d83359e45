//! Text through the API, on SQLite and PostgreSQL alike: a keychain typed with no upload is
//! made in the bundled font into one closed solid at its quoted price; a font upload (the
//! DejaVu file the engine bundles, a real-world font) is sniffed and described, sets the
//! text, and previews it; a letter the font lacks, a file that only looks like a font, a
//! font for an image mode and another user's font are refused before anything is charged.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

#[tokio::test]
async fn a_keychain_typed_without_an_upload_is_one_closed_solid_at_its_quoted_price() {
    let app = TestApp::spawn().await;
    let client = app.user("text@example.com").await;
    let body = json!({
        "mode": "text",
        "params": { "text": "Lia\n2026", "layout": "keychain", "letter_height_mm": 8 },
        "format": "stl",
    });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    let cost = quote["cost"].as_i64().unwrap();
    assert!(cost >= 1, "{quote}");
    let done = app.run_ok(&client, &body).await;
    assert!(done["upload_id"].is_null(), "{done}");
    let check = &done["result"]["check"];
    assert_eq!((&check["closed"], &check["manifold"]), (&json!(true), &json!(true)), "{check}");
    assert_eq!(check["shells"], 1, "the plate joins every letter: {check}");
    let id = done["id"].as_str().unwrap();
    let stl = client.get(app.url(&format!("/tasks/{id}/output"))).send().await.unwrap();
    let stl = stl.bytes().await.unwrap();
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    assert!(mesh.is_closed_manifold(), "{mesh:?}");
    let volume = check["volume_mm3"].as_f64().unwrap();
    assert!((mesh.volume - volume).abs() < 1e-3 * volume, "{} against {volume}", mesh.volume);
    assert_eq!(app.credits(&client).await["balance"], 20 - cost, "exactly the quote");

    // Another format of it is made from the same text, free.
    let other = client.post(app.url(&format!("/tasks/{id}/formats")));
    let other: Value = other.json(&json!({ "format": "3mf" })).fetch_json().await;
    let other = app.wait(&client, other["id"].as_str().unwrap()).await;
    assert_eq!(other["status"], "succeeded", "{other}");
    assert_eq!(app.credits(&client).await["balance"], 20 - cost);
}

#[tokio::test]
async fn a_font_upload_sets_the_text_and_what_is_not_a_font_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.user("fonts@example.com").await;
    let font = lithos_engine::text::font::BUNDLED.to_vec();
    let response = app.upload(&client, "DejaVuSans-Bold.ttf", font).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let upload: Value = response.json().await.unwrap();
    assert_eq!(upload["content_type"], "font/ttf");
    assert_eq!(upload["font"]["name"], "DejaVu Sans Bold", "{upload}");
    assert!(upload["font"]["glyphs"].as_u64().unwrap() > 1000, "{upload}");
    let font_id = upload["id"].as_str().unwrap().to_owned();

    let body = json!({ "upload_id": font_id, "mode": "text", "params": { "text": "Ok", "layout": "solid" } });
    let preview: Value = client.post(app.url("/previews")).json(&body).fetch_json().await;
    assert!(preview["triangles"].as_u64().unwrap() > 100, "{preview}");
    assert!(preview["expected_triangles"].as_u64() > preview["triangles"].as_u64());
    let done = app.run_ok(&client, &body).await;
    assert_eq!(done["result"]["check"]["shells"], 2, "O and k apart: {}", done["result"]);
    let spent = 20 - app.credits(&client).await["balance"].as_i64().unwrap();

    // A file that starts like an OpenType font but is not one is refused whole, by name.
    let fake = [b"OTTO".as_slice(), &[0; 60]].concat();
    let response = app.upload(&client, "fake.otf", fake).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("not a font"), "{error}");

    // A letter the font lacks, a font for an image mode, an image for text, another user's
    // font, and no upload for an image mode: each named, nothing charged.
    let image = app.upload_ok(&client, "flat.png", png(16)).await;
    let other = app.user("other-fonts@example.com").await;
    let others = app.upload_ok(&other, "mine.ttf", lithos_engine::text::font::BUNDLED.to_vec());
    let others = others.await;
    for (body, field) in [
        (json!({ "mode": "text", "params": { "text": "日本" } }), "text"),
        (json!({ "upload_id": font_id, "mode": "relief" }), "mode"),
        (json!({ "upload_id": image, "mode": "text", "params": { "text": "A" } }), "mode"),
        (json!({ "upload_id": others, "mode": "text", "params": { "text": "A" } }), "upload_id"),
        (json!({ "mode": "relief" }), "upload_id"),
        (json!({ "mode": "text" }), "text"),
    ] {
        let response = app.submit(&client, &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(app.credits(&client).await["balance"], 20 - spent);
}
