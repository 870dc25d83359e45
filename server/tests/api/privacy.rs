//! Privacy rights, on SQLite and PostgreSQL with local disk, and on SeaweedFS: the data
//! export holds every part, files byte-exact, and no secret; deletion leaves a tombstone and
//! no file, row or session of the user, and the email can register again.

use std::io::Read;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::{Column, Row};

use crate::helpers::{FetchJson, TestApp, camera, files_under};
use crate::object_storage::{on_s3, s3, store_at};

/// Starts an export and waits until it is no longer running.
async fn export(app: &TestApp, client: &Client) -> Value {
    let started = client.post(app.url("/me/export")).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let started: Value = started.json().await.unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    for _ in 0..600 {
        let now: Value = client.get(app.url(&format!("/me/exports/{id}"))).fetch_json().await;
        if now["status"] != "running" {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the export never finished");
}

fn zip_entries(bytes: Vec<u8>) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (entry.name().unwrap().into_owned(), data)
        })
        .collect()
}

/// Every text value of every row of every table, for searching.
async fn every_text(db: &lithos_server::Db) -> String {
    let tables: Vec<String> = match sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&db.pool)
    .await
    {
        Ok(tables) => tables,
        Err(_) => sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap(),
    };
    let mut text = String::new();
    for table in tables.iter().filter(|t| !t.starts_with("_sqlx")) {
        for row in sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&db.pool).await.unwrap()
        {
            for (i, column) in row.columns().iter().enumerate() {
                if let Ok(Some(value)) = row.try_get::<Option<String>, _>(i) {
                    text.push_str(&format!("{table}.{}={value}\n", column.name()));
                }
            }
        }
    }
    text
}

#[tokio::test]
async fn the_export_holds_every_part_byte_exact_and_no_secret() {
    let app = TestApp::spawn().await;
    let user = app.user("export@example.org").await;
    let (keyed, key) = app.api_client(&user).await;
    let source = camera();
    let upload = app.upload_ok(&keyed, "camera photo.png", source.clone()).await;
    let task = app
        .run_ok(
            &keyed,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 48 } }),
        )
        .await;
    let task_id = task["id"].as_str().unwrap();
    let output = user.get(app.url(&format!("/tasks/{task_id}/output"))).send().await.unwrap();
    let output = output.bytes().await.unwrap().to_vec();
    let filed = user
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "data_access", "subject": "My data", "message": "Please send it.", "task_id": task_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), StatusCode::CREATED);

    let done = export(&app, &user).await;
    assert_eq!(done["status"], "ready", "{done}");
    assert!(
        done["expires_at"].as_i64().unwrap() - done["finished_at"].as_i64().unwrap() == 86_400_000
    );
    let url = format!("{}{}", app.base, done["download_url"].as_str().unwrap());
    let zip = user.get(&url).send().await.unwrap();
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap().to_vec();
    assert_eq!(bytes.len() as i64, done["bytes"].as_i64().unwrap());
    let entries = zip_entries(bytes.clone());
    let json_of = |name: &str| -> Value { serde_json::from_slice(&entries[name]).unwrap() };
    assert!(String::from_utf8_lossy(&entries["README.txt"]).contains("tasks.json"));
    assert_eq!(json_of("profile.json")["email"], "export@example.org");
    assert_eq!(json_of("profile.json")["credits"], 19);
    assert!(json_of("profile.json")["age_confirmed_at"].as_i64().is_some());
    assert_eq!(json_of("identities.json")[0]["provider"], "password");
    assert!(!json_of("sessions.json").as_array().unwrap().is_empty());
    assert_eq!(
        json_of("api_keys.json")[0]["prefix"].as_str().unwrap(),
        &key[..json_of("api_keys.json")[0]["prefix"].as_str().unwrap().len()]
    );
    let tasks = json_of("tasks.json");
    assert_eq!(tasks[0]["id"], task_id);
    assert_eq!(tasks[0]["params"]["max_grid"], 48, "parameters as JSON");
    let ledger = json_of("ledger.json");
    let sum: i64 = ledger.as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 19, "the ledger adds up to the balance");
    assert!(json_of("payments.json")["payments"].as_array().unwrap().is_empty());
    assert_eq!(json_of("usage_events.json")[0]["task_id"], task_id);
    let support = json_of("support_requests.json");
    assert_eq!(support[0]["subject"], "My data");
    assert_eq!(support[0]["messages"][0]["body"], "Please send it.");
    assert_eq!(json_of("uploads.json")[0]["filename"], "camera photo.png");
    // The files, byte-exact.
    assert_eq!(entries[&format!("files/uploads/{upload}/camera_photo.png")], source);
    assert_eq!(entries[&format!("files/outputs/{task_id}.stl")], output);
    // No secret in any entry (read decompressed: the JSON is deflated): not the API key, not
    // its hash, not a password hash, not a session token's hash.
    let everything: String =
        entries.values().map(|data| String::from_utf8_lossy(data).into_owned()).collect();
    let db = app.running.as_ref().unwrap().db.clone();
    let key_hash: String =
        sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_one(&db.pool).await.unwrap();
    let mut secrets: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_all(&db.pool).await.unwrap();
    secrets.extend([key.clone(), key_hash, "$argon2".to_owned()]);
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "the export holds a secret: {secret}");
    }
    assert!(everything.contains("export@example.org"), "the entries are read as text");

    // Someone else's export is 404; an expired one is 410.
    let other = app.user("other@example.org").await;
    let id = done["id"].as_str().unwrap();
    assert_eq!(
        other.get(app.url(&format!("/me/exports/{id}"))).send().await.unwrap().status(),
        404
    );
    assert_eq!(other.get(&url).send().await.unwrap().status(), 404);
    let report = app.sweep(lithos_server::now_ms() + 25 * 3_600_000).await;
    assert!(report.deleted.iter().any(|d| d.kind == "export" && d.id == id), "{report:?}");
    assert!(!files_under(app.dir.path()).iter().any(|p| p.to_string_lossy().contains("/exports/")));
    let gone = user.get(&url).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let message: Value = gone.json().await.unwrap();
    assert!(message["error"]["message"].as_str().unwrap().contains("expired at"), "{message}");
    // The sweep is in the audit log, as the service's own action.
    let admin = app.admin("ops@example.org").await;
    let audit: Value = admin.get(app.url("/admin/audit")).fetch_json().await;
    let sweep =
        audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "retention.sweep");
    let sweep = sweep.expect("a sweep entry");
    assert!(
        sweep["admin_id"].is_null() && sweep["detail"].as_str().unwrap().contains("export: 1"),
        "{sweep}"
    );
}

#[tokio::test]
async fn exports_are_one_at_a_time_and_three_a_day() {
    let app = TestApp::spawn().await;
    let user = app.user("often@example.org").await;
    // While one is being made (a row whose heartbeat is fresh), another is refused.
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let db = app.running.as_ref().unwrap().db.clone();
    let now = lithos_server::now_ms();
    sqlx::query(
        "INSERT INTO exports (id, user_id, status, storage_key, heartbeat_at, created_at) \
         VALUES ('busy', $1, 'running', 'users/x/exports/busy.zip', $2, $2)",
    )
    .bind(me["id"].as_str().unwrap())
    .bind(now)
    .execute(&db.pool)
    .await
    .unwrap();
    let second = user.post(app.url("/me/export")).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::CONFLICT);
    sqlx::query("DELETE FROM exports WHERE id = 'busy'").execute(&db.pool).await.unwrap();
    for _ in 0..3 {
        assert_eq!(export(&app, &user).await["status"], "ready");
    }
    let fourth = user.post(app.url("/me/export")).send().await.unwrap();
    assert_eq!(fourth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(fourth.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn deletion_leaves_a_tombstone_and_nothing_of_the_user() {
    let app = TestApp::spawn().await;
    let user = app.user("leaving@example.org").await;
    user.patch(app.url("/me"))
        .json(
            &json!({ "name": "Leonora Leaving", "avatar_url": "https://img.example/leonora.png" }),
        )
        .send()
        .await
        .unwrap();
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let id = me["id"].as_str().unwrap().to_owned();
    let (keyed, _) = app.api_client(&user).await;
    let upload = app.upload_ok(&keyed, "camera.png", camera()).await;
    let task = app
        .run_ok(
            &keyed,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 32 } }),
        )
        .await;
    export(&app, &user).await;
    user.post(app.url("/support/requests"))
        .json(&json!({ "category": "data_deletion", "subject": "Goodbye", "message": "Delete me" }))
        .send()
        .await
        .unwrap();
    let db = app.running.as_ref().unwrap().db.clone();
    // A payment and a stored webhook naming the user, as billing leaves them.
    sqlx::query("INSERT INTO payments (transaction_id, user_id, kind, product, amount_paid, currency, credits, created_at) VALUES ('tran_1', $1, 'pack', 'pack100', 1000, 'EUR', 100, 1)")
        .bind(&id).execute(&db.pool).await.unwrap();
    sqlx::query("INSERT INTO billing_events (id, event_type, status, payload, created_at, received_at) VALUES ('evt_1', 'checkout.completed', 'processed', $1, 1, 1)")
        .bind(json!({ "object": { "customer": { "email": "leaving@example.org", "name": "Leonora Leaving" } } }).to_string())
        .execute(&db.pool).await.unwrap();
    let ledger_before: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, amount FROM ledger WHERE user_id = $1 ORDER BY id")
            .bind(&id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let prefix = format!("users/{id}");
    assert!(files_under(app.dir.path()).iter().any(|p| p.to_string_lossy().contains(&prefix)));

    let wrong =
        user.delete(app.url("/me")).json(&json!({ "password": "wrong" })).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = user
        .delete(app.url("/me"))
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);

    assert_eq!(user.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(keyed.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let left: Vec<_> = files_under(app.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&prefix))
        .collect();
    assert!(left.is_empty(), "files left: {left:?}");
    let text = every_text(&db).await;
    for trace in ["leaving@example.org", "Leonora Leaving", "leonora.png", "camera.png"] {
        assert!(!text.contains(trace), "a row still holds {trace}:\n{text}");
    }
    let ledger_after: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, amount FROM ledger WHERE user_id = $1 ORDER BY id")
            .bind(&id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(ledger_after, ledger_before, "the ledger is kept whole");
    let payment: (String, i64) =
        sqlx::query_as("SELECT user_id, credits FROM payments WHERE transaction_id = 'tran_1'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(payment, (id.clone(), 100), "the payment record keeps its reference");
    let task_row: (String, Option<i64>) =
        sqlx::query_as("SELECT user_id, expired_at FROM tasks WHERE id = $1")
            .bind(task["id"].as_str().unwrap())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(task_row.1.is_some(), "its output is marked gone");
    // The email can register again, as a new account.
    let again = app.user("leaving@example.org").await;
    let me_again: Value = again.get(app.url("/me")).fetch_json().await;
    assert_ne!(me_again["id"], me["id"]);
    assert_eq!(me_again["credits"], 20);
}

#[tokio::test]
async fn deletion_during_a_running_task_leaves_nothing_behind() {
    let app = TestApp::spawn_with(|c| c.free_credits = 100).await;
    let user = app.user("busy@example.org").await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    // A big grid: still running when the account goes.
    let task = app
        .submit_ok(
            &user,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "grid": 3000 } }),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    for _ in 0..200 {
        let now: Value = user.get(app.url(&format!("/tasks/{id}"))).fetch_json().await;
        if now["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deleted: Value = user
        .delete(app.url("/me"))
        .json(&json!({ "password": "correct horse battery" }))
        .fetch_json()
        .await;
    assert_eq!(deleted["tasks_canceled"], 1, "{deleted}");
    let db = app.running.as_ref().unwrap().db.clone();
    let (status, output): (String, Option<String>) =
        sqlx::query_as("SELECT status, output_key FROM tasks WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(status == "canceled" || output.is_none(), "{status} {output:?}");
    let balance: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(amount) AS BIGINT) FROM ledger WHERE user_id = $1")
            .bind(me["id"].as_str().unwrap())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(balance, 100, "the task's credits were released");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let prefix = format!("users/{}", me["id"].as_str().unwrap());
    let left: Vec<_> = files_under(app.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&prefix))
        .collect();
    assert!(left.is_empty(), "files left: {left:?}");
}

#[tokio::test]
async fn an_operator_deletes_a_childs_account_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let child = app.user("child@example.org").await;
    let me: Value = child.get(app.url("/me")).fetch_json().await;
    let id = me["id"].as_str().unwrap();
    let admin = app.admin("ops@example.org").await;
    let admin_me: Value = admin.get(app.url("/me")).fetch_json().await;
    let own = admin
        .delete(app.url(&format!("/admin/users/{}", admin_me["id"].as_str().unwrap())))
        .json(&json!({ "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CONFLICT);
    let user = app.user("plain@example.org").await;
    let refused = user
        .delete(app.url(&format!("/admin/users/{id}")))
        .json(&json!({ "reason": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let done = admin
        .delete(app.url(&format!("/admin/users/{id}")))
        .json(&json!({ "reason": "parent wrote in: the user is 11", "child": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(child.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let audit: Value = admin.get(app.url("/admin/audit")).fetch_json().await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "user.child");
    assert_eq!(entry["target_id"], id);
    assert_eq!(entry["admin_email"], "ops@example.org");
    assert_eq!(entry["detail"], "parent wrote in: the user is 11");
    let again = admin
        .delete(app.url(&format!("/admin/users/{id}")))
        .json(&json!({ "reason": "again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "already deleted");
}

/// On SeaweedFS: the export is downloaded through a presigned URL, byte-exact; deleting the
/// account empties its prefix in the bucket.
#[tokio::test]
async fn on_the_bucket_the_export_downloads_and_deletion_empties_the_prefix() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(on_s3(&endpoint, &bucket)).await;
    let user = app.user("bucket@example.org").await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let id = me["id"].as_str().unwrap();
    let source = camera();
    let upload = app.upload_ok(&user, "camera.png", source.clone()).await;
    let task = app
        .run_ok(
            &user,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 32 } }),
        )
        .await;
    let done = export(&app, &user).await;
    assert_eq!(done["status"], "ready", "{done}");
    let url = format!("{}{}", app.base, done["download_url"].as_str().unwrap());
    let zip = user.get(&url).send().await.unwrap();
    assert_eq!(zip.status(), StatusCode::OK, "followed the presigned redirect");
    let entries = zip_entries(zip.bytes().await.unwrap().to_vec());
    assert_eq!(entries[&format!("files/uploads/{upload}/camera.png")], source);
    assert!(entries.contains_key(&format!("files/outputs/{}.stl", task["id"].as_str().unwrap())));

    let store = store_at(&format!("s3://{bucket}"), &endpoint).await;
    let db = app.running.as_ref().unwrap().db.clone();
    let mut keys: Vec<String> =
        sqlx::query_scalar("SELECT storage_key FROM uploads WHERE user_id = $1")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    keys.extend(
        sqlx::query_scalar::<_, String>("SELECT output_key FROM tasks WHERE user_id = $1")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap(),
    );
    keys.extend(
        sqlx::query_scalar::<_, String>("SELECT storage_key FROM exports WHERE user_id = $1")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap(),
    );
    assert_eq!(keys.len(), 3);
    for key in &keys {
        assert!(store.size(key).await.unwrap().is_some(), "{key} is stored");
    }
    let deleted: Value = user
        .delete(app.url("/me"))
        .json(&json!({ "password": "correct horse battery" }))
        .fetch_json()
        .await;
    assert!(deleted["objects_deleted"].as_u64().unwrap() >= 3, "{deleted}");
    for key in &keys {
        assert_eq!(store.size(key).await.unwrap(), None, "{key} is gone from the bucket");
    }
    assert_eq!(store.delete_user_objects(id).await.unwrap(), 0, "nothing is left under the prefix");
}
