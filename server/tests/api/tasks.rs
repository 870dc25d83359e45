//! Uploads, tasks and outputs: the full flow, authorization, idempotency, bad input, restart.

use lithos_engine::inspect::inspect_stl;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, camera, png};

#[tokio::test]
async fn register_key_upload_task_download_and_an_exact_ledger() {
    let app = TestApp::spawn().await;
    let browser = app.user("flow@example.org").await;
    let (client, _) = app.api_client(&browser).await;
    let upload = app.upload(&client, "camera.png", camera()).await;
    assert_eq!(upload.status(), StatusCode::CREATED);
    let upload: Value = upload.json().await.unwrap();
    assert_eq!((upload["width"].as_u64(), upload["height"].as_u64()), (Some(512), Some(512)));
    assert_eq!(upload["content_type"], "image/png");

    let body = json!({ "upload_id": upload["id"], "mode": "relief", "params": { "width_mm": 60, "base_mm": 1.5 } });
    let created = app.submit(&client, &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let task: Value = created.json().await.unwrap();
    assert!(matches!(task["status"].as_str(), Some("queued" | "running")), "{task}");
    let cost = task["cost"].as_i64().unwrap();
    assert_eq!(cost, 1, "512 x 512 is one started megapixel");
    let id = task["id"].as_str().unwrap();

    let done = app.wait(&client, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], 1.0);
    let triangles = done["result"]["triangles"].as_u64().unwrap();

    let output = client.get(app.url(&format!("/tasks/{id}/output"))).send().await.unwrap();
    assert_eq!(output.status(), StatusCode::OK);
    assert_eq!(output.headers()["content-type"], "model/stl");
    let disposition = output.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename=\"camera.stl\"");
    let stl = output.bytes().await.unwrap();
    assert_eq!(stl.len() as u64, done["result"]["bytes"].as_u64().unwrap());
    let report = inspect_stl(std::io::Cursor::new(&stl[..])).unwrap();
    assert_eq!(report.triangles as u64, triangles);
    assert!(report.is_closed_manifold(), "{report:?}");
    assert!((report.max[0] - report.min[0] - 60.0).abs() < 1e-3);
    assert!(report.volume > 0.0, "outward normals");

    let credits = app.credits(&client).await;
    let kinds: Vec<(&str, i64)> = credits["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, [("capture", 0), ("reserve", -cost), ("grant", 20)], "newest first");
    assert_eq!(credits["balance"], 20 - cost);
    let me: Value = client.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["credits"], 20 - cost);

    let listed: Value = client.get(app.url("/tasks?status=succeeded")).fetch_json().await;
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn another_users_things_are_not_found() {
    let app = TestApp::spawn().await;
    let a = app.user("a@example.org").await;
    let b = app.user("b@example.org").await;
    let upload = app.upload_ok(&a, "a.png", png(64)).await;
    let created: Value = app.submit_ok(&a, &json!({ "upload_id": upload, "mode": "relief" })).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.wait(&a, id).await["status"], "succeeded");
    assert_eq!(
        a.get(app.url(&format!("/uploads/{upload}"))).send().await.unwrap().status(),
        StatusCode::OK
    );
    for path in
        [format!("/tasks/{id}"), format!("/tasks/{id}/output"), format!("/uploads/{upload}")]
    {
        let response = b.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        b.post(app.url(&format!("/tasks/{id}/cancel"))).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // B cannot start a task on A's upload either.
    let theirs = app.submit(&b, &json!({ "upload_id": upload, "mode": "relief" })).await;
    assert_eq!(theirs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = b.get(app.url("/tasks")).fetch_json().await;
    assert!(listed["tasks"].as_array().unwrap().is_empty());
    let anonymous = reqwest::get(app.url(&format!("/tasks/{id}"))).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let app = TestApp::spawn().await;
    let user = app.user("idem@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(32)).await;
    let body = json!({ "upload_id": upload, "mode": "lithophane", "params": { "max_mm": 3 } });
    let send = |body: Value| {
        let user = user.clone();
        let url = app.url("/tasks");
        async move { user.post(url).header("idempotency-key", "k-1").json(&body).send().await.unwrap() }
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    // The same request normalised (the hardening probe's 409s): as sent, `3.0` for `3`, and a
    // default spelled out.
    for same in [
        body.clone(),
        json!({ "upload_id": upload, "mode": "lithophane", "params": { "max_mm": 3.0 } }),
        json!({ "upload_id": upload, "mode": "lithophane", "params": { "max_mm": 3, "min_mm": 0.8 }, "format": "stl" }),
    ] {
        let again = send(same.clone()).await;
        assert_eq!(again.status(), StatusCode::OK, "{same}");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["id"], first["id"], "the same task: {same}");
    }
    let other =
        send(json!({ "upload_id": upload, "mode": "lithophane", "params": { "max_mm": 4 } })).await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    let credits = app.credits(&user).await;
    let reserves =
        credits["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "reserve").count();
    assert_eq!(reserves, 1, "charged once");
}

#[tokio::test]
async fn bad_uploads_and_parameters_get_4xx_json_and_store_nothing() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 1 << 20).await;
    let user = app.user("bad@example.org").await;
    let mut truncated = png(64);
    truncated.truncate(truncated.len() / 2);
    // A PNG header claiming 100000 x 100000 pixels: refused from the header.
    let mut bomb = png(8);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    for (name, bytes, status) in [
        ("notes.png", b"just some text".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("half.png", truncated, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("bomb.png", bomb, StatusCode::UNPROCESSABLE_ENTITY),
        ("big.png", vec![0u8; 2 << 20], StatusCode::PAYLOAD_TOO_LARGE),
        ("empty.png", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = app.upload(&user, name, bytes).await;
        assert_eq!(response.status(), status, "{name}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {error}"
        );
    }
    assert!(!app.dir.path().join("files/users").exists(), "nothing stored");

    let upload = app.upload_ok(&user, "ok.png", png(32)).await;
    for (params, field) in [
        (json!({ "width_mm": -5 }), "width_mm"),
        (json!({ "gamma": 0 }), "gamma"),
        (json!({ "min_mm": 1 }), "min_mm"),
        (json!({ "colour": "red" }), "colour"),
        (json!({ "threshold": 0.5 }), "threshold"),
    ] {
        let response = app
            .submit(&user, &json!({ "upload_id": upload, "mode": "relief", "params": params }))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{params}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let bad_mode = app.submit(&user, &json!({ "upload_id": upload, "mode": "sculpture" })).await;
    assert_eq!(bad_mode.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_format =
        app.submit(&user, &json!({ "upload_id": upload, "mode": "relief", "format": "3ds" })).await;
    assert_eq!(bad_format.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = bad_format.json().await.unwrap();
    assert_eq!(error["error"]["field"], "format", "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("3mf or glb"), "{error}");
    let malformed = user
        .post(app.url("/tasks"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"], 20, "refused tasks cost nothing");
}

#[tokio::test]
async fn every_mode_comes_out_in_the_format_asked_for() {
    let app = TestApp::spawn().await;
    let user = app.user("formats@example.org").await;
    let upload = app.upload_ok(&user, "disc.png", png(48)).await;
    for (mode, format, media_type) in [
        ("relief", "3mf", "model/3mf"),
        ("lithophane", "glb", "model/gltf-binary"),
        ("relief", "ply", "application/x-ply"),
    ] {
        let body = json!({ "upload_id": upload, "mode": mode, "format": format });
        let task: Value = app.submit(&user, &body).await.json().await.unwrap();
        let id = task["id"].as_str().unwrap();
        let done = app.wait(&user, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["format"], format);
        let output = user.get(app.url(&format!("/tasks/{id}/output"))).send().await.unwrap();
        assert_eq!(output.headers()["content-type"], media_type, "{mode} as {format}");
        let disposition = output.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.ends_with(&format!(".{format}\"")), "{disposition}");
        let bytes = output.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, done["result"]["bytes"].as_u64().unwrap());
        let magic: &[u8] = match format {
            "3mf" => b"PK\x03\x04",
            "glb" => b"glTF",
            _ => b"ply\n",
        };
        assert!(bytes.starts_with(magic), "{mode} as {format}");

        // Its pictures: a thumbnail always, the backlit view for a lithophane.
        let pictures = |name: &str| app.url(&format!("/tasks/{id}/pictures/{name}"));
        let listed = done["result"]["pictures"].as_array().unwrap().clone();
        let lithophane = mode == "lithophane";
        let expected: &[&str] = if lithophane { &["thumbnail", "backlit"] } else { &["thumbnail"] };
        assert_eq!(listed, expected.iter().map(|p| json!(p)).collect::<Vec<_>>(), "{mode}");
        let thumbnail = user.get(pictures("thumbnail")).send().await.unwrap();
        assert_eq!(thumbnail.status(), StatusCode::OK);
        assert_eq!(thumbnail.headers()["content-type"], "image/png");
        let png = image::load_from_memory(&thumbnail.bytes().await.unwrap()).unwrap();
        assert_eq!((png.width(), png.height()), (512, 512));
        let backlit = user.get(pictures("backlit")).send().await.unwrap();
        if lithophane {
            let png = image::load_from_memory(&backlit.bytes().await.unwrap()).unwrap();
            let grid = &done["result"]["grid"];
            assert_eq!(u64::from(png.width()), grid[0].as_u64().unwrap(), "one pixel a point");
        } else {
            assert_eq!(backlit.status(), StatusCode::NOT_FOUND, "a relief has no backlit view");
        }
        let other = app.user(&format!("other-{mode}-{format}@example.org")).await;
        let theirs = other.get(pictures("thumbnail")).send().await.unwrap();
        assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "another user's picture");
        let unknown = user.get(pictures("sketch")).send().await.unwrap();
        assert!(unknown.status().is_client_error());
    }
}

#[tokio::test]
async fn solids_come_out_as_ply() {
    let app = TestApp::spawn().await;
    let user = app.user("solid@example.org").await;
    let upload = app.upload_ok(&user, "disc.png", png(48)).await;
    let body = json!({
        "upload_id": upload, "mode": "solid", "format": "ply",
        "params": { "threshold": 0.3, "pixel_mm": 0.5, "depth_mm": 3, "bevel_mm": 0.5 },
    });
    let task: Value = app.submit(&user, &body).await.json().await.unwrap();
    let done = app.wait(&user, task["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let output = user
        .get(app.url(&format!("/tasks/{}/output", task["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(output.headers()["content-type"], "application/x-ply");
    let bytes = output.bytes().await.unwrap();
    assert!(bytes.starts_with(b"ply\nformat binary_little_endian 1.0\n"));
}

#[tokio::test]
async fn a_job_whose_worker_died_is_reclaimed_when_its_lease_expires_and_completes_once() {
    let mut app = TestApp::spawn().await;
    let user = app.user("restart@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    app.stop().await;
    // What a killed worker leaves behind: a task running under a lease that has expired, its
    // credits reserved.
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    let user_id: String =
        sqlx::query_scalar("SELECT id FROM users").fetch_one(&db.pool).await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, request_hash, attempts, created_at, started_at) \
         VALUES ('orphan', $1, $2, 'relief', '{}', 'stl', 'running', 1, 'x', 1, 1, 1)",
    )
    .bind(&user_id)
    .bind(&upload)
    .execute(&mut *tx)
    .await
    .unwrap();
    lithos_server::credits::post(
        &mut tx,
        &user_id.clone().into(),
        lithos_server::credits::Kind::Reserve,
        -1,
        "task submitted",
        Some(&"orphan".to_owned().into()),
        None,
    )
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (task_id, priority, state, attempt, max_attempts, run_after, lease_owner, lease_expires_at, enqueued_at) \
         VALUES ('orphan', 1, 'running', 1, 5, 0, 'a-dead-worker', 1, 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    db.pool.close().await;

    app.start(|_| {}).await;
    let done = app.wait(&user, "orphan").await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let credits = app.credits(&user).await;
    let entries = credits["entries"].as_array().unwrap();
    let for_task: Vec<&str> = entries
        .iter()
        .filter(|e| e["task_id"] == "orphan")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(for_task, ["capture", "reserve"], "reserved once, captured once");
    assert_eq!(credits["balance"], 19);
    let attempts: i64 = {
        let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
        sqlx::query_scalar("SELECT attempts FROM tasks WHERE id = 'orphan'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    assert_eq!(attempts, 2, "run again exactly once");
}

#[tokio::test]
async fn task_lists_page_with_cursors() {
    let app = TestApp::spawn().await;
    let user = app.user("pages@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(16)).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let task: Value =
            app.submit_ok(&user, &json!({ "upload_id": upload, "mode": "relief" })).await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = if cursor.is_empty() {
            app.url("/tasks?limit=2")
        } else {
            app.url(&format!("/tasks?limit=2&cursor={cursor}"))
        };
        let page: Value = user.get(url).fetch_json().await;
        let tasks = page["tasks"].as_array().unwrap();
        assert!(tasks.len() <= 2);
        seen.extend(tasks.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    let mut sorted_ids = ids;
    sorted_ids.sort();
    assert_eq!(sorted_seen, sorted_ids, "every task once");
    let bad = user.get(app.url("/tasks?status=lost")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = user.get(app.url("/tasks?cursor=nonsense")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn shutdown_lets_the_running_task_finish_and_charges_once() {
    let mut app = TestApp::spawn().await;
    let user = app.user("drain@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    // Large enough to still be running when the shutdown starts.
    let body = json!({ "upload_id": upload, "mode": "relief", "params": { "grid": 1800 } });
    let task: Value = app.submit(&user, &body).await.json().await.unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let now: Value = user.get(app.url(&format!("/tasks/{id}"))).fetch_json().await;
        if now["status"] != "queued" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.stop().await;
    app.start(|_| {}).await;
    let done = app.wait(&user, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let credits = app.credits(&user).await;
    let kinds: Vec<&str> = credits["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["task_id"] == id.as_str())
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["capture", "reserve"]);
}

#[tokio::test]
async fn a_finished_model_is_made_in_another_format_for_free_once() {
    let app = TestApp::spawn().await;
    let user = app.user("formats@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(48)).await;
    let body = json!({ "upload_id": upload, "mode": "lithophane", "params": { "width_mm": 40 } });
    let task = app.run_ok(&user, &body).await;
    let id = task["id"].as_str().unwrap();
    let balance = app.credits(&user).await["balance"].clone();
    let formats = |client: &reqwest::Client, format: &str| {
        client
            .post(app.url(&format!("/tasks/{id}/formats")))
            .json(&json!({ "format": format }))
            .send()
    };

    let made = formats(&user, "3mf").await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    assert_eq!((made["cost"].as_i64(), made["derived_from"].as_str()), (Some(0), Some(id)));
    assert_eq!(
        (&made["params"], &made["mode"], &made["upload_id"]),
        (&task["params"], &task["mode"], &task["upload_id"])
    );
    let done = app.wait(&user, made["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // The same model: as many triangles as the task's STL, in a 3MF (a ZIP).
    assert_eq!(done["result"]["triangles"], task["result"]["triangles"]);
    let file = user
        .get(app.url(&format!("/tasks/{}/output", done["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(&file.bytes().await.unwrap()[..2], b"PK");
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"], balance, "free");
    let amounts: Vec<i64> = crate::helpers::task_ledger(&credits, done["id"].as_str().unwrap())
        .iter()
        .map(|e| e.1)
        .collect();
    assert!(amounts.iter().all(|&a| a == 0), "{amounts:?}");

    // Asked again: the same task. Its own format, someone else's task: refused.
    let again = formats(&user, "3mf").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], made["id"]);
    assert_eq!(formats(&user, "stl").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(formats(&user, "step").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stranger = app.user("stranger@example.org").await;
    assert_eq!(formats(&stranger, "glb").await.unwrap().status(), StatusCode::NOT_FOUND);

    // A task that failed (its mask keeps nothing) has no model to remake.
    let empty = json!({ "upload_id": upload, "mode": "lithophane",
                        "params": { "mask": "threshold", "threshold": 1.0, "invert": true } });
    let failed = app.submit_ok(&user, &empty).await;
    let failed_id = failed["id"].as_str().unwrap();
    assert_eq!(app.wait(&user, failed_id).await["status"], "failed");
    let response = user
        .post(app.url(&format!("/tasks/{failed_id}/formats")))
        .json(&json!({ "format": "glb" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
}
