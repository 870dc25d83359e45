//! 3D files through the API, on SQLite and PostgreSQL alike: files the reference writers wrote
//! (trimesh, lib3mf) upload with their inspection ("3 holes, 2 flipped faces"), convert in
//! `mode` mesh into a closed solid of the intact model's volume at the triangle price, and a
//! model that cannot be made printable fails its task and is not charged. Another user's
//! upload is not there.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};
use crate::volumes::write_cases;

#[tokio::test]
async fn a_broken_scan_uploads_inspected_and_is_repaired_into_a_closed_solid() {
    let files = tempfile::tempdir().unwrap();
    write_cases("models.py", files.path());
    let expected: Value =
        serde_json::from_slice(&std::fs::read(files.path().join("expected.json")).unwrap())
            .unwrap();
    let read = |name: &str| std::fs::read(files.path().join(name)).unwrap();
    let app = TestApp::spawn().await;
    let client = app.user("models@example.com").await;

    // The upload says what is wrong before anything is made.
    let response = app.upload(&client, "broken.stl", read("broken.stl")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let upload: Value = response.json().await.unwrap();
    assert_eq!(upload["content_type"], "model/stl");
    let model = &upload["model"];
    assert_eq!(model["format"], "stl");
    assert_eq!(model["printable"], false);
    assert_eq!(model["analysis"]["holes"], 3, "{model}");
    assert_eq!(model["analysis"]["flipped_faces"], 2, "{model}");
    assert!(upload["volume"].is_null());
    let id = upload["id"].as_str().unwrap().to_owned();

    let other = app.user("other@example.com").await;
    let response = other.get(app.url(&format!("/uploads/{id}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "another user's upload");

    // A credit per started million triangles.
    let body = json!({ "upload_id": id, "mode": "mesh", "format": "stl" });
    let quote: Value = client.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!(quote["cost"], 1, "{quote}");
    let done = app.run_ok(&client, &body).await;
    let result = &done["result"];
    assert_eq!(result["check"]["closed"], true, "{result}");
    assert_eq!(result["check"]["manifold"], true);
    assert_eq!(result["check"]["oriented"], true);
    assert_eq!(result["model"]["repairs"]["holes_filled"], 3);
    let stl = client.get(app.url(&format!("/tasks/{}/output", done["id"].as_str().unwrap())));
    let stl = stl.send().await.unwrap().bytes().await.unwrap();
    let mesh = lithos_engine::inspect::inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    assert!(mesh.is_closed_manifold(), "{mesh:?}");
    let intact = expected["broken.stl"]["intact_volume"].as_f64().unwrap();
    assert!((mesh.volume / intact - 1.0).abs() < 1e-5, "{} against {intact}", mesh.volume);
    assert_eq!(app.credits(&client).await["balance"], 20 - 1, "exactly the cost");

    // A 3MF is a 3D file, not a ZIP of slices.
    let upload = app.upload(&client, "placed.3mf", read("placed.3mf")).await;
    let upload: Value = upload.json().await.unwrap();
    assert_eq!(
        (&upload["model"]["format"], &upload["content_type"]),
        (&json!("3mf"), &json!("model/3mf"))
    );

    // Modes and uploads must match.
    let image = app.upload_ok(&client, "flat.png", png(16)).await;
    for body in [
        json!({ "upload_id": id, "mode": "relief" }),
        json!({ "upload_id": image, "mode": "mesh" }),
        json!({ "upload_id": id, "mode": "mesh", "params": { "scale": -1 } }),
    ] {
        let response = app.submit(&client, &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = response.json().await.unwrap();
        let field = if body["params"].is_null() { "mode" } else { "scale" };
        assert_eq!(error["error"]["field"], field, "{error}");
    }

    // Two solids touching at a point stay unprintable after repair: the task fails, saying
    // so, and its credit comes back.
    let bowtie = app.upload_ok(&client, "bowtie.obj", read("bowtie.obj")).await;
    let task = app.submit_ok(&client, &json!({ "upload_id": bowtie, "mode": "mesh" })).await;
    let failed = app.wait(&client, task["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("not printable even after repair"), "{error}");
    assert_eq!(app.credits(&client).await["balance"], 20 - 1, "the failed task is not charged");
}
