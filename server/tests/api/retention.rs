//! Retention, with time moved by `as_of`, on SQLite and PostgreSQL with local disk: each file
//! is deleted or kept exactly as the rules say, really gone from disk, and the dry run lists
//! exactly what the real run then deletes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, camera, png};
use crate::object_storage::{curl, headers_of, on_s3, s3, store_at};

const DAY: i64 = 86_400_000;

fn files_under(dir: &std::path::Path) -> Vec<String> {
    crate::helpers::files_under(dir).iter().map(|p| p.to_string_lossy().into_owned()).collect()
}

#[tokio::test]
async fn each_file_is_deleted_or_kept_as_the_rules_say() {
    let plans = |config: &mut lithos_server::Config| {
        config.billing.apply(
            toml::from_str(
                "[[plans]]\nid = \"pro\"\ncreem_product_id = \"prod_pro\"\ncredits_per_period = 1\n\
                 retention_days = 30\n",
            )
            .unwrap(),
        );
    };
    let mut app = TestApp::spawn_with(plans).await;
    let free = app.user("free@example.org").await;
    let paid = app.user("paid@example.org").await;
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    // The paid account's plan (set as billing's webhook would).
    sqlx::query("UPDATE users SET plan = 'pro' WHERE email = 'paid@example.org'")
        .execute(&db.pool)
        .await
        .unwrap();
    let relief = |upload: &str| json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 32 } });
    let used = app.upload_ok(&free, "used.png", png(32)).await;
    let free_task = app.run_ok(&free, &relief(&used)).await;
    let paid_upload = app.upload_ok(&paid, "paid.png", png(32)).await;
    let paid_task = app.run_ok(&paid, &relief(&paid_upload)).await;
    let unused = app.upload_ok(&free, "unused.png", png(32)).await;
    // A source a queued task still needs: no worker runs it.
    app.stop().await;
    app.start(|config| {
        plans(config);
        config.workers = 0;
    })
    .await;
    let free = app.login("free@example.org").await;
    let waiting = app.upload_ok(&free, "waiting.png", png(32)).await;
    let queued = app.submit_ok(&free, &relief(&waiting)).await;
    assert_eq!(queued["status"], "queued");

    let running = app.running.as_ref().unwrap();
    let config = {
        let mut c = lithos_server::Config {
            data_dir: app.dir.path().to_owned(),
            database_url: Some(app.database_url.clone()),
            ..lithos_server::Config::default()
        };
        plans(&mut c);
        c
    };
    let storage = lithos_server::storage::Storage::open_spec(&config.storage_spec(), &config.s3)
        .await
        .unwrap();
    let now = lithos_server::now_ms();
    let sweep = |days: i64, dry: bool| {
        lithos_server::retention::sweep(&running.db, &storage, &config, now + days * DAY, dry)
    };
    let ids = |report: &lithos_server::retention::Report| {
        let mut ids: Vec<(String, String)> =
            report.deleted.iter().map(|d| (d.kind.to_owned(), d.id.clone())).collect();
        ids.sort();
        ids
    };

    // Within every period: nothing goes.
    assert!(sweep(0, false).await.unwrap().deleted.is_empty());
    // Two days on: the sources no task needs (their tasks ended more than 24 hours ago, or
    // none used them); the queued task's source and every output stay.
    let dry = sweep(2, true).await.unwrap();
    let mut expected = vec![
        ("source".to_owned(), used.clone()),
        ("source".to_owned(), paid_upload.clone()),
        ("source".to_owned(), unused.clone()),
    ];
    expected.sort();
    assert_eq!(ids(&dry), expected);
    let files_before = files_under(app.dir.path());
    assert!(dry.deleted.iter().all(|d| d.bytes.is_some_and(|b| b > 0)), "sizes listed");
    assert_eq!(files_under(app.dir.path()), files_before, "the dry run deleted nothing");
    let real = sweep(2, false).await.unwrap();
    assert_eq!(ids(&real), ids(&dry), "the dry run listed exactly what the sweep deleted");
    let files = files_under(app.dir.path()).join("\n");
    for gone in [&used, &paid_upload, &unused] {
        assert!(!files.contains(gone.as_str()), "{gone} is gone from disk");
    }
    assert!(files.contains(waiting.as_str()), "the queued task's source stays");
    let again = app.submit(&free, &relief(&used)).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Eight days on: the free plan's output (7 days) expires; the paid one (30) stays.
    let output = |client: &reqwest::Client, task: &Value| {
        client.get(app.url(&format!("/tasks/{}/output", task["id"].as_str().unwrap()))).send()
    };
    assert_eq!(output(&free, &free_task).await.unwrap().status(), StatusCode::OK);
    let eight = sweep(8, false).await.unwrap();
    assert_eq!(
        ids(&eight),
        vec![("output".to_owned(), free_task["id"].as_str().unwrap().to_owned())]
    );
    let gone = output(&free, &free_task).await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let message: Value = gone.json().await.unwrap();
    assert!(message["error"]["message"].as_str().unwrap().contains("expired at"), "{message}");
    let task: Value = free
        .get(app.url(&format!("/tasks/{}", free_task["id"].as_str().unwrap())))
        .fetch_json()
        .await;
    assert!(task["expired_at"].as_i64().is_some(), "{task}");
    assert_eq!(task["params"]["max_grid"], 32, "the task record stays");
    let paid_client = app.login("paid@example.org").await;
    assert_eq!(output(&paid_client, &paid_task).await.unwrap().status(), StatusCode::OK);
    assert!(sweep(20, false).await.unwrap().deleted.is_empty(), "20 days: the paid one stays");
    let late = sweep(31, false).await.unwrap();
    assert_eq!(
        ids(&late),
        vec![("output".to_owned(), paid_task["id"].as_str().unwrap().to_owned())]
    );
    assert_eq!(output(&paid_client, &paid_task).await.unwrap().status(), StatusCode::GONE);
    // The ledger stays whole.
    let credits = app.credits(&free).await;
    assert_eq!(credits["balance"], 20 - 1 - 1, "two tasks' costs reserved, nothing refunded");

    // One sweep at a time: while another holds the lease, a sweep does nothing.
    sqlx::query("UPDATE sweeper_lease SET holder = 'other', expires_at = $1")
        .bind(lithos_server::now_ms() + 60_000)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(!sweep(40, false).await.unwrap().ran);
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The privacy page says what this server is configured to do: its retention periods, where
/// files are stored, who processes payments, and where to write.
#[tokio::test]
async fn the_privacy_page_states_the_configured_periods_and_providers() {
    let app = TestApp::spawn().await;
    let page = reqwest::get(format!("{}/privacy", app.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("deleted 24 hours after"), "{page}");
    assert!(page.contains("free plan: 7 days"), "{page}");
    assert!(page.contains("this server's own disk"));
    assert!(!page.contains("Creem"), "no billing configured, none named");
    assert!(!page.contains("AI generation"), "no generation provider configured, none named");
    assert!(page.contains("no support address is configured"));
    assert!(page.contains("Exports of your data are deleted 24 hours after"), "{page}");
    assert!(page.contains("does not serve children under 13"), "{page}");
    assert!(page.contains("they are cleared 90 days after that use"), "{page}");

    let app = TestApp::spawn_with(|config| {
        config.retention.source_grace = Duration::from_secs(12 * 3600);
        config.support_email = Some("privacy@lithos.example".into());
        config.billing.apply(
            toml::from_str(
                "creem_api_key = \"creem_test_k\"\n[[plans]]\nid = \"pro\"\n\
                 creem_product_id = \"prod_pro\"\ncredits_per_period = 1\nretention_days = 90\n",
            )
            .unwrap(),
        );
    })
    .await;
    let page = reqwest::get(format!("{}/privacy", app.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("deleted 12 hours after"), "{page}");
    assert!(page.contains("pro plan: 90 days"), "{page}");
    assert!(page.contains("Creem"), "{page}");
    assert!(page.contains("mailto:privacy@lithos.example"), "{page}");
}

/// Retention on SeaweedFS: a source, an output and an abandoned presigned upload are really
/// gone from the bucket once their periods pass, and their rows say so.
#[tokio::test]
async fn retention_deletes_sources_outputs_and_abandoned_uploads_from_the_bucket() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(on_s3(&endpoint, &bucket)).await;
    let user = app.user("sweep@example.org").await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let prefix = format!("users/{}", me["id"].as_str().unwrap());
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    let done = app
        .run_ok(
            &user,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 64 } }),
        )
        .await;
    let abandoned: Value = user
        .post(app.url("/uploads/presign"))
        .json(&json!({ "filename": "later.png", "bytes": 10, "content_type": "image/png" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, _) = curl(
        "PUT",
        abandoned["upload"]["url"].as_str().unwrap(),
        &headers_of(&abandoned["upload"]),
        Some(b"0123456789"),
    );
    assert_eq!(status, 200, "sent, but never completed");
    let store = store_at(&format!("s3://{bucket}"), &endpoint).await;
    let source_key = format!("{prefix}/uploads/{upload}");
    let pending_key = format!("{prefix}/uploads/{}", abandoned["id"].as_str().unwrap());
    let db = app.running.as_ref().unwrap().db.clone();
    let output_key: String = sqlx::query_scalar("SELECT output_key FROM tasks WHERE id = $1")
        .bind(done["id"].as_str().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // The output's thumbnail is stored beside it, and goes with it.
    let thumbnail_key = format!("{output_key}.thumbnail.png");
    for key in [&source_key, &pending_key, &output_key, &thumbnail_key] {
        assert!(store.size(key).await.unwrap().is_some(), "{key} is stored");
    }
    // The sweep's periods are the defaults; the store is the bucket.
    let config = lithos_server::Config::default();
    let now = lithos_server::now_ms();
    // Two hours on: only the abandoned upload (one hour) goes.
    let report = lithos_server::retention::sweep(&db, &store, &config, now + 2 * 3_600_000, false)
        .await
        .unwrap();
    let kinds: Vec<&str> = report.deleted.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, ["pending_upload"]);
    assert_eq!(store.size(&pending_key).await.unwrap(), None, "gone from the bucket");
    assert!(store.size(&source_key).await.unwrap().is_some());
    // Eight days on: the source (24 hours) and the free plan's output (7 days).
    let report = lithos_server::retention::sweep(&db, &store, &config, now + 8 * 86_400_000, false)
        .await
        .unwrap();
    let mut kinds: Vec<&str> = report.deleted.iter().map(|d| d.kind).collect();
    kinds.sort();
    assert_eq!(kinds, ["output", "source"]);
    for key in [&source_key, &output_key, &thumbnail_key] {
        assert_eq!(store.size(key).await.unwrap(), None, "{key} is gone from the bucket");
    }
    let gone = user.get(app.url(&format!("/tasks/{}/output", done["id"].as_str().unwrap())));
    assert_eq!(gone.send().await.unwrap().status(), 410);
}
