//! The operators' console API: audited job actions with exact credits, attempts, filters,
//! credit adjustments, disabling accounts, task quotes, and the overview over 10,000 jobs
//! with its query plans.

use lithos_server::routes::admin::overview::{BACKLOG_SQL, FINISHED_SQL};
use lithos_server::storage::{S3Options, Storage};
use lithos_server::tasks::queue::QueueConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, camera, task_ledger, worker_pool};

async fn get(client: &reqwest::Client, url: String) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn job_actions_are_audited_and_keep_credits_exact() {
    // No in-process workers: the job waits in the queue until a pool is started below.
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let user = app.user("owner@example.org").await;
    let admin = app.admin("ops@example.org").await;
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    let body = json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 64 } });

    // A quote checks like a submission and creates nothing.
    let quote: Value = user.post(app.url("/tasks/quote")).json(&body).fetch_json().await;
    assert_eq!((quote["cost"].as_i64(), quote["balance"].as_i64()), (Some(1), Some(20)));
    assert_eq!(quote["grid"], json!([64, 64]));
    let bad = user
        .post(app.url("/tasks/quote"))
        .json(&json!({ "upload_id": upload, "mode": "relief", "params": { "base_mm": -1 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["field"], "base_mm");
    assert_eq!(get(&user, app.url("/tasks")).await["tasks"].as_array().unwrap().len(), 0);

    let task: Value = app.submit(&user, &body).await.json().await.unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    let cost = task["cost"].as_i64().unwrap();

    // Users cannot reach any of it.
    for (method, path) in [
        ("GET", "/admin/overview".to_owned()),
        ("GET", "/admin/jobs".to_owned()),
        ("GET", format!("/admin/jobs/{id}")),
        ("POST", format!("/admin/jobs/{id}/cancel")),
        ("POST", format!("/admin/jobs/{id}/retry")),
        ("DELETE", format!("/admin/jobs/{id}")),
        ("GET", "/admin/audit".to_owned()),
        ("GET", "/admin/usage/daily".to_owned()),
    ] {
        let request = user.request(method.parse().unwrap(), app.url(&path));
        assert_eq!(request.send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
    }

    // Cancel while queued: out of the queue, credits released.
    let canceled: Value =
        admin.post(app.url(&format!("/admin/jobs/{id}/cancel"))).fetch_json().await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(app.credits(&user).await["balance"], 20);
    let again = admin.post(app.url(&format!("/admin/jobs/{id}/cancel"))).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "nothing left to cancel");

    // Retry: reserved again and queued; then a worker runs it.
    let retried = admin.post(app.url(&format!("/admin/jobs/{id}/retry"))).send().await.unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(app.credits(&user).await["balance"], 20 - cost);
    let storage = Storage::open_spec(
        &app.dir.path().join("files").display().to_string(),
        &S3Options::default(),
    )
    .await
    .unwrap();
    let (pool, _) = worker_pool(&app, storage, QueueConfig::default(), 1).await;
    let done = app.wait(&user, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    pool.stop().await;
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"], 20 - cost);
    assert_eq!(
        task_ledger(&credits, &id),
        [
            ("reserve".into(), -cost),
            ("release".into(), cost),
            ("reserve".into(), -cost),
            ("capture".into(), 0)
        ]
    );

    // The detail: parameters, one attempt by the pool's worker, stage timings, the output.
    let detail = get(&admin, app.url(&format!("/admin/jobs/{id}"))).await;
    assert_eq!(detail["params"]["max_grid"], 64);
    assert_eq!(detail["email"], "owner@example.org");
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["outcome"], "succeeded");
    assert!(attempts[0]["finished_at"].as_i64() >= attempts[0]["started_at"].as_i64());
    // The worker's stages around the engine's, none longer than the whole run (a photo
    // larger than its grid is read onto it a row at a time, timed as the resample).
    let stages = detail["stages"].as_object().expect("stage timings");
    for stage in ["fetch", "decode", "resample", "thickness", "mesh", "store"] {
        assert!(
            stages.get(stage).and_then(|s| s.as_f64()).is_some_and(|s| s >= 0.0),
            "{stage}: {detail}"
        );
    }
    let staged: f64 = stages.values().filter_map(|s| s.as_f64()).sum();
    assert!(staged <= detail["result"]["seconds"].as_f64().unwrap() + 1e-6, "{detail}");
    let output_url = detail["output_url"].as_str().unwrap();
    let stl =
        admin.get(format!("{}{output_url}", app.base)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(stl.len() as u64, 84 + 50 * detail["result"]["triangles"].as_u64().unwrap());
    let workers = get(&admin, app.url("/admin/workers")).await;
    let worker = &workers["workers"].as_array().unwrap()[0];
    assert_eq!((worker["jobs_done"].as_i64(), worker["jobs_failed"].as_i64()), (Some(1), Some(0)));
    assert_eq!((worker["status"].as_str(), worker["busy"].as_i64()), (Some("stopped"), Some(0)));

    // Filters.
    let list = |query: &str| get(&admin, app.url(&format!("/admin/jobs?{query}")));
    assert_eq!(
        list("state=succeeded&mode=relief&user=owner@").await["jobs"].as_array().unwrap().len(),
        1
    );
    assert_eq!(list("state=failed").await["jobs"].as_array().unwrap().len(), 0);
    assert_eq!(list("user=nobody").await["jobs"].as_array().unwrap().len(), 0);
    let bad = admin.get(app.url("/admin/jobs?state=exploded")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let retry_done = admin.post(app.url(&format!("/admin/jobs/{id}/retry"))).send().await.unwrap();
    assert_eq!(retry_done.status(), StatusCode::CONFLICT, "a succeeded job is not retried");

    // Delete: gone from the lists and from storage; the ledger stays.
    // Canceled before any claim, the retry's claim was attempt 1.
    assert_eq!(attempts[0]["attempt"], 1);
    let output_key = format!("users/{}/outputs/{id}-1.stl", detail["user_id"].as_str().unwrap());
    assert!(app.dir.path().join("files").join(&output_key).exists(), "{output_key}");
    let deleted = admin.delete(app.url(&format!("/admin/jobs/{id}"))).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(!app.dir.path().join("files").join(&output_key).exists(), "the output is deleted");
    assert_eq!(user.get(app.url(&format!("/tasks/{id}"))).send().await.unwrap().status(), 404);
    assert_eq!(
        admin.get(app.url(&format!("/admin/jobs/{id}"))).send().await.unwrap().status(),
        404
    );
    assert_eq!(list("").await["jobs"].as_array().unwrap().len(), 0);
    assert_eq!(task_ledger(&app.credits(&user).await, &id).len(), 4, "the ledger stays");

    // Every action, newest first, with the admin who took it.
    let audit = get(&admin, app.url("/admin/audit")).await;
    let actions: Vec<(&str, &str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["target_id"].as_str().unwrap(),
                e["admin_email"].as_str().unwrap(),
            )
        })
        .collect();
    let ops = "ops@example.org";
    assert_eq!(
        actions,
        [
            ("job.delete", id.as_str(), ops),
            ("job.retry", id.as_str(), ops),
            ("job.cancel", id.as_str(), ops)
        ]
    );
}

#[tokio::test]
async fn admins_adjust_credits_with_a_reason_and_disable_accounts() {
    let app = TestApp::spawn().await;
    let user = app.user("member@example.org").await;
    let (key_client, _) = app.api_client(&user).await;
    let admin = app.admin("ops@example.org").await;
    let found = get(&admin, app.url("/admin/users?q=MEMBER")).await;
    let users = found["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "search by part of the email, any case");
    let id = users[0]["id"].as_str().unwrap().to_owned();

    let adjust =
        |body: Value| admin.post(app.url(&format!("/admin/users/{id}/credits"))).json(&body).send();
    let no_reason = adjust(json!({ "amount": 5, "reason": "  " })).await.unwrap();
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.json::<Value>().await.unwrap()["error"]["field"], "reason");
    let zero = adjust(json!({ "amount": 0, "reason": "nothing" })).await.unwrap();
    assert_eq!(zero.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let overdraw = adjust(json!({ "amount": -21, "reason": "too much" })).await.unwrap();
    assert_eq!(overdraw.status(), StatusCode::PAYMENT_REQUIRED, "never below zero");
    let ok: Value =
        adjust(json!({ "amount": 5, "reason": "goodwill" })).await.unwrap().json().await.unwrap();
    assert_eq!(ok["balance"], 25);
    let back: Value = adjust(json!({ "amount": -3, "reason": "double grant" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(back["balance"], 22);

    let detail = get(&admin, app.url(&format!("/admin/users/{id}"))).await;
    assert_eq!(detail["balance"], 22);
    let ledger: Vec<(&str, i64, &str)> = detail["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["amount"].as_i64().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ledger,
        [
            ("adjustment", -3, "double grant"),
            ("adjustment", 5, "goodwill"),
            ("grant", 20, "welcome grant")
        ]
    );
    assert!(detail["ledger"][0]["admin_id"].is_string(), "the admin is on the entry");
    assert_eq!(detail["api_keys"].as_array().unwrap().len(), 1);
    assert_eq!(app.credits(&user).await["balance"], 22, "the user sees the same balance");

    // Disabling ends sessions and stops keys; logging in is refused with a reason.
    let me = admin.get(app.url("/me")).send().await.unwrap().json::<Value>().await.unwrap();
    let own = admin
        .post(app.url(&format!("/admin/users/{}/disable", me["id"].as_str().unwrap())))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CONFLICT, "not your own account");
    let disable = |disabled: bool| {
        admin
            .post(app.url(&format!("/admin/users/{id}/disable")))
            .json(&json!({ "disabled": disabled }))
            .send()
    };
    assert_eq!(disable(true).await.unwrap().status(), StatusCode::OK);
    assert_eq!(user.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        key_client.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let login = |c: reqwest::Client| {
        c.post(app.url("/auth/login"))
            .json(&json!({ "email": "member@example.org", "password": "correct horse battery" }))
            .send()
    };
    let refused = login(app.browser()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    assert_eq!(disable(false).await.unwrap().status(), StatusCode::OK);
    assert_eq!(login(app.browser()).await.unwrap().status(), StatusCode::OK);
    assert_eq!(key_client.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);

    // A host that stops heartbeating is shown as lost.
    let workers = get(&admin, app.url("/admin/workers")).await;
    assert_eq!(workers["workers"][0]["status"], "live", "{workers}");
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE workers SET last_seen = last_seen - 3600000")
        .execute(&db.pool)
        .await
        .unwrap();
    let workers = get(&admin, app.url("/admin/workers")).await;
    assert_eq!(workers["workers"][0]["status"], "lost", "{workers}");

    let audit = get(&admin, app.url("/admin/audit")).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.enable", "user.disable", "user.credits", "user.credits"]);
}

/// 10,000 jobs: 9,000 finished two days ago, 900 in the last hour (every tenth failed), 60
/// running and 40 queued. The overview counts them exactly, its percentiles match the
/// seeded durations, and its queries use their indexes.
#[tokio::test]
async fn the_overview_counts_10000_jobs_exactly_through_its_indexes() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let user = app.user("bulk@example.org").await;
    let upload = app.upload_ok(&user, "camera.png", camera()).await;
    let admin = app.admin("ops@example.org").await;
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    let user_id: String = sqlx::query_scalar("SELECT user_id FROM uploads WHERE id = $1")
        .bind(&upload)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let now = lithos_server::now_ms();
    let mut recent_durations = Vec::new();
    let mut recent_waits = Vec::new();
    let mut rows = Vec::new();
    for i in 0..10_000i64 {
        let (status, finished, started, created) = match i {
            0..9000 => (
                "succeeded",
                Some(now - 48 * 3_600_000 + i),
                now - 49 * 3_600_000,
                now - 50 * 3_600_000,
            ),
            9000..9900 => {
                let finished = now - 3_500_000 + (i - 9000) * 3_000;
                let (duration, wait) = (1_000 + (i % 97) * 10, 5 + i % 13);
                recent_durations.push(duration);
                recent_waits.push(wait);
                let status = if i % 10 == 0 { "failed" } else { "succeeded" };
                (status, Some(finished), finished - duration, finished - duration - wait)
            }
            9900..9960 => ("running", None, now - 1_000, now - 2_000),
            _ => ("queued", None, 0, now - 1_000),
        };
        rows.push(format!(
            "('t{i:05}', '{user_id}', '{upload}', 'relief', '{{}}', 'stl', '{status}', 1, 'h', {created}, {}, {}, {}, {})",
            if started > 0 { started.to_string() } else { "NULL".into() },
            finished.map_or("NULL".into(), |f| f.to_string()),
            if status == "succeeded" { "0.25" } else { "NULL" },
            if status == "succeeded" { "1000" } else { "NULL" },
        ));
    }
    for chunk in rows.chunks(500) {
        sqlx::query(&format!(
            "INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, \
             request_hash, created_at, started_at, finished_at, megapixels, triangles) VALUES {}",
            chunk.join(", ")
        ))
        .execute(&db.pool)
        .await
        .unwrap();
    }

    let hour = get(&admin, app.url("/admin/overview?window=1h")).await;
    assert_eq!(
        hour["counts"],
        json!({ "processed": 810, "failed": 90, "running": 60, "queued": 40 })
    );
    recent_durations.sort_unstable();
    recent_waits.sort_unstable();
    let nearest = |v: &[i64], q: f64| v[((q * v.len() as f64).ceil() as usize).max(1) - 1];
    assert_eq!(hour["totals"]["p50_ms"], nearest(&recent_durations, 0.5));
    assert_eq!(hour["totals"]["p95_ms"], nearest(&recent_durations, 0.95));
    assert_eq!(hour["totals"]["queue_latency_p50_ms"], nearest(&recent_waits, 0.5));
    let series = &hour["series"];
    let per_minute: f64 =
        series["jobs_per_minute"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
    let bucket_minutes = hour["bucket_seconds"].as_f64().unwrap() / 60.0;
    assert!((per_minute * bucket_minutes - 810.0).abs() < 1e-6, "the buckets add up to the count");
    let megapixels: f64 = series["megapixels_per_second"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((megapixels * hour["bucket_seconds"].as_f64().unwrap() - 810.0 * 0.25).abs() < 1e-6);
    let day = get(&admin, app.url("/admin/overview?window=24h")).await;
    assert_eq!(day["counts"]["processed"], 810, "two days ago is outside the 24-hour window");
    // The jobs list pages through them by cursor, newest first, without overlap.
    let first = get(&admin, app.url("/admin/jobs?limit=3&state=queued")).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second =
        get(&admin, app.url(&format!("/admin/jobs?limit=3&state=queued&cursor={cursor}"))).await;
    let ids = |page: &Value| -> Vec<String> {
        page["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!((a.len(), b.len()), (3, 3));
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    assert!(first["jobs"][2]["created_at"].as_i64() >= second["jobs"][0]["created_at"].as_i64());
    let bad = admin.get(app.url("/admin/overview?window=7d")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The plans: each read goes through its index, not a scan of 10,000 rows.
    let finished_sql = FINISHED_SQL.replace("$1", &(now - 3_600_000).to_string());
    for (sql, index) in [(finished_sql.as_str(), "tasks_finished"), (BACKLOG_SQL, "tasks_status")] {
        let plan = match db.kind {
            lithos_server::db::Kind::Sqlite => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .fetch_all(&db.pool)
                        .await
                        .unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
            }
            lithos_server::db::Kind::Postgres => {
                sqlx::query("ANALYZE tasks").execute(&db.pool).await.unwrap();
                let rows: Vec<(String,)> =
                    sqlx::query_as(&format!("EXPLAIN {sql}")).fetch_all(&db.pool).await.unwrap();
                rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
            }
        };
        eprintln!("query plan ({:?}) of {sql}:\n{plan}", db.kind);
        assert!(plan.contains(index), "{sql} uses {index}:\n{plan}");
    }
}
