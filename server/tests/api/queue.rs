//! The job queue and its workers, on SQLite and (with `LITHOS_TEST_POSTGRES_URL`) PostgreSQL:
//! claim order, no double claims, fencing of stale workers, retries with backoff, giving up,
//! cancellation at the next heartbeat, pruning, and the worker registry.
//!
//! The app runs with no in-process workers (`workers = 0`, as API servers at scale do); the
//! tests claim through [`Queue`] themselves or start worker [`Pool`]s beside it.

use std::collections::HashSet;
use std::time::Duration;

use lithos_server::storage::Storage;
use lithos_server::tasks::queue::{Beat, Queue, QueueConfig, Retry};
use lithos_server::worker::{Handle, Pool};
use lithos_server::{Config, Db};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png, worker_pool};

fn api_only(config: &mut Config) {
    config.workers = 0;
    config.free_credits = 10_000;
    // These tests fill the queue faster than any person does.
    for plan in &mut config.billing.plans {
        plan.limits.tasks_per_minute = None;
    }
}

fn db(app: &TestApp) -> Db {
    app.running.as_ref().expect("running").db.clone()
}

async fn user_id(app: &TestApp, user: &Client) -> String {
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    me["id"].as_str().unwrap().to_owned()
}

async fn submit_relief(app: &TestApp, user: &Client, upload: &str, grid: u32) -> String {
    let response = app
        .submit(user, &json!({ "upload_id": upload, "mode": "relief", "params": { "grid": grid } }))
        .await;
    assert_eq!(response.status(), 201);
    let task: Value = response.json().await.unwrap();
    task["id"].as_str().unwrap().to_owned()
}

/// A worker pool beside the app, over its data directory.
async fn pool(app: &TestApp, config: QueueConfig, concurrency: usize) -> (Pool, Handle) {
    let files = app.dir.path().join("files").display().to_string();
    let storage = Storage::open_spec(&files, &Default::default()).await.unwrap();
    worker_pool(app, storage, config, concurrency).await
}

/// The kinds of the ledger entries of one task, oldest first.
async fn ledger_of(db: &Db, task: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM ledger WHERE task_id = $1 ORDER BY id")
        .bind(task)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

async fn scalar_i64(db: &Db, sql: &str, task: &str) -> i64 {
    sqlx::query_scalar(sql).bind(task).fetch_one(&db.pool).await.unwrap()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn claims_take_paid_plans_first_then_oldest_and_never_the_same_job_twice() {
    let app = TestApp::spawn_with(api_only).await;
    let db = db(&app);
    let free = app.user("free@example.org").await;
    let paid = app.user("paid@example.org").await;
    sqlx::query("UPDATE users SET plan = 'pro' WHERE email = 'paid@example.org'")
        .execute(&db.pool)
        .await
        .unwrap();
    let free_upload = app.upload_ok(&free, "f.png", png(16)).await;
    let paid_upload = app.upload_ok(&paid, "p.png", png(16)).await;
    let mut free_ids = Vec::new();
    let mut paid_ids = Vec::new();
    for _ in 0..3 {
        free_ids.push(submit_relief(&app, &free, &free_upload, 16).await);
        paid_ids.push(submit_relief(&app, &paid, &paid_upload, 16).await);
    }
    let queue = Queue::new(db.clone(), QueueConfig::default());
    let mut order = Vec::new();
    for _ in 0..6 {
        let leases = queue.claim("w", 1).await.unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].attempt, 1);
        order.push(leases[0].task_id.clone());
    }
    let expected: Vec<String> = paid_ids.iter().chain(&free_ids).cloned().collect();
    assert_eq!(order, expected, "paid before free, first in first out within each");
    assert!(queue.claim("w", 1).await.unwrap().is_empty(), "nothing is claimed twice");
    let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE status = 'running'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(running, 6, "claimed tasks show as running");

    // Eight claimers racing over 60 jobs: each job exactly once.
    let mut ids = HashSet::new();
    for _ in 0..60 {
        ids.insert(submit_relief(&app, &free, &free_upload, 16).await);
    }
    let claimers: Vec<_> = (0..8)
        .map(|i| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let leases = queue.claim(&format!("claimer-{i}"), 2).await.unwrap();
                    if leases.is_empty() {
                        return mine;
                    }
                    mine.extend(leases.into_iter().map(|l| l.task_id));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    assert_eq!(claimed.len(), 60, "every job claimed once, none twice");
    let claimed: HashSet<String> = claimed.into_iter().map(|id| id.to_string()).collect();
    assert_eq!(claimed, ids);
}

#[tokio::test]
async fn a_stale_worker_is_fenced_off_and_leaves_no_trace() {
    let app = TestApp::spawn_with(api_only).await;
    let db = db(&app);
    let user = app.user("fence@example.org").await;
    let owner = user_id(&app, &user).await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    // A job big enough to still be running when its lease is taken away.
    let task = submit_relief(&app, &user, &upload, 2000).await;

    // Worker A: heartbeats too rare to notice in time.
    let slow = QueueConfig { heartbeat: Duration::from_secs(20), ..QueueConfig::default() };
    let (pool_a, handle_a) = pool(&app, slow, 1).await;
    wait_for("worker A runs the job", async || handle_a.progress(&task).is_some()).await;

    // Its lease runs out (as when a host stalls), and worker B takes the job over.
    sqlx::query("UPDATE jobs SET lease_expires_at = 0 WHERE task_id = $1")
        .bind(&task)
        .execute(&db.pool)
        .await
        .unwrap();
    let (pool_b, _) = pool(&app, QueueConfig::default(), 1).await;
    let done = app.wait(&user, &task).await;
    wait_for("worker A gives up", async || handle_a.progress(&task).is_none()).await;

    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["attempt"], 2, "worker B's attempt is the one recorded");
    assert_eq!(ledger_of(&db, &task).await, ["reserve", "capture"], "charged once");
    assert_eq!(
        scalar_i64(&db, "SELECT COUNT(*) FROM usage_events WHERE task_id = $1", &task).await,
        1
    );
    let outputs = app.dir.path().join(format!("files/users/{owner}/outputs"));
    let mut files: Vec<String> = std::fs::read_dir(&outputs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [format!("{task}-2.stl"), format!("{task}-2.stl.thumbnail.png")],
        "A's output and its picture are gone, temporary files too"
    );
    let done_by: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, jobs_done FROM workers ORDER BY jobs_done")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(done_by, [(pool_a.id.clone(), 0), (pool_b.id.clone(), 1)]);

    // A's token is dead for every write the queue offers.
    let stale = lithos_server::tasks::queue::Lease {
        task_id: task.clone().into(),
        attempt: 1,
        max_attempts: 5,
        owner: pool_a.id.clone(),
    };
    let queue = Queue::new(db.clone(), QueueConfig::default());
    assert_eq!(queue.heartbeat(&stale, 0.5).await.unwrap(), Beat::Lost);
    assert_eq!(queue.retry(&stale, "late").await.unwrap(), Retry::Lost);
    assert!(!queue.release(&stale).await.unwrap());
    let mut tx = db.pool.begin().await.unwrap();
    assert!(!queue.finish(&mut tx, &stale, "succeeded", None).await.unwrap());
    drop(tx);

    // The registry: who ran, where, and that they stopped.
    let id_a = pool_a.id.clone();
    pool_a.stop().await;
    pool_b.stop().await;
    let (hostname, pid, backend, concurrency, stopped): (String, i64, String, i64, Option<i64>) =
        sqlx::query_as(
            "SELECT hostname, pid, backend, concurrency, stopped_at FROM workers WHERE id = $1",
        )
        .bind(&id_a)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!hostname.is_empty());
    assert_eq!(pid, i64::from(std::process::id()));
    assert_eq!((backend.as_str(), concurrency), ("cpu", 1));
    assert!(stopped.is_some(), "stopped workers say so");
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_a_backoff_and_then_succeeds() {
    let app = TestApp::spawn_with(api_only).await;
    let db = db(&app);
    let user = app.user("retry@example.org").await;
    let owner = user_id(&app, &user).await;
    let upload = app.upload_ok(&user, "a.png", png(32)).await;
    // A real fault: a file where the outputs directory must go makes every write fail.
    let outputs = app.dir.path().join(format!("files/users/{owner}/outputs"));
    std::fs::write(&outputs, b"in the way").unwrap();
    let task = submit_relief(&app, &user, &upload, 32).await;
    let config = QueueConfig { retry_base: Duration::from_secs(2), ..QueueConfig::default() };
    let (pool, _) = pool(&app, config, 1).await;

    wait_for("the first attempt fails", async || {
        let row: (String, i64, Option<String>, i64) = sqlx::query_as(
            "SELECT state, attempt, last_error, run_after FROM jobs WHERE task_id = $1",
        )
        .bind(&task)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        row.0 == "queued" && row.1 == 1 && row.2.is_some()
    })
    .await;
    let (run_after, enqueued): (i64, i64) =
        sqlx::query_as("SELECT run_after, enqueued_at FROM jobs WHERE task_id = $1")
            .bind(&task)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(run_after - enqueued >= 1000, "backed off at least half the base delay");
    let queued: Value = user.get(app.url(&format!("/tasks/{task}"))).fetch_json().await;
    assert_eq!(queued["status"], "queued", "waiting for its retry");
    std::fs::remove_file(&outputs).unwrap();

    let done = app.wait(&user, &task).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["attempt"], 2);
    assert_eq!(ledger_of(&db, &task).await, ["reserve", "capture"]);
    pool.stop().await;
}

#[tokio::test]
async fn retries_run_out_then_the_task_fails_with_its_last_error_and_credits_back() {
    // The attempts a job gets are fixed when it is queued.
    let app = TestApp::spawn_with(|c| {
        api_only(c);
        c.queue.max_attempts = 3;
    })
    .await;
    let db = db(&app);
    let user = app.user("gives-up@example.org").await;
    let owner = user_id(&app, &user).await;
    let upload = app.upload_ok(&user, "a.png", png(32)).await;
    std::fs::create_dir_all(app.dir.path().join(format!("files/users/{owner}"))).unwrap();
    std::fs::write(app.dir.path().join(format!("files/users/{owner}/outputs")), b"x").unwrap();
    let before = app.credits(&user).await["balance"].as_i64().unwrap();
    let task = submit_relief(&app, &user, &upload, 32).await;
    let config = QueueConfig { retry_base: Duration::from_millis(20), ..QueueConfig::default() };
    let (pool, _) = pool(&app, config, 1).await;
    let done = app.wait(&user, &task).await;
    pool.stop().await;

    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.starts_with("gave up after 3 attempts: storage is unavailable"), "{error}");
    assert_eq!(scalar_i64(&db, "SELECT attempt FROM jobs WHERE task_id = $1", &task).await, 3);
    let last: Option<String> = sqlx::query_scalar("SELECT last_error FROM jobs WHERE task_id = $1")
        .bind(&task)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(last.is_some_and(|l| l.contains("gave up after 3 attempts")), "the last error is kept");
    assert_eq!(ledger_of(&db, &task).await, ["reserve", "release"]);
    assert_eq!(app.credits(&user).await["balance"].as_i64().unwrap(), before, "nothing charged");
}

#[tokio::test]
async fn a_running_job_stops_at_its_next_heartbeat_when_canceled() {
    let app = TestApp::spawn_with(api_only).await;
    let db = db(&app);
    let user = app.user("stop@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    let before = app.credits(&user).await["balance"].as_i64().unwrap();
    let task = submit_relief(&app, &user, &upload, 3000).await;
    // A worker in another "process": the API's cancel reaches it only through the database.
    let config = QueueConfig {
        heartbeat: Duration::from_millis(100),
        lease: Duration::from_secs(5),
        ..QueueConfig::default()
    };
    let (pool, handle) = pool(&app, config, 1).await;
    wait_for("the job runs", async || handle.progress(&task).is_some()).await;
    let response = user.post(app.url(&format!("/tasks/{task}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let done = app.wait(&user, &task).await;
    assert_eq!(done["status"], "canceled", "{done}");
    assert_eq!(ledger_of(&db, &task).await, ["reserve", "release"]);
    assert_eq!(app.credits(&user).await["balance"].as_i64().unwrap(), before);
    pool.stop().await;
}

#[tokio::test]
async fn finished_jobs_are_pruned_and_their_tasks_and_ledger_stay() {
    let app = TestApp::spawn_with(api_only).await;
    let db = db(&app);
    let user = app.user("prune@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(16)).await;
    let done_task = submit_relief(&app, &user, &upload, 16).await;
    // First in, first out is by the millisecond of enqueueing: the second comes a tick later.
    tokio::time::sleep(Duration::from_millis(3)).await;
    let waiting = submit_relief(&app, &user, &upload, 16).await;
    let queue =
        Queue::new(db.clone(), QueueConfig { retention: Duration::ZERO, ..QueueConfig::default() });
    let lease = queue.claim("w", 1).await.unwrap().remove(0);
    assert_eq!(lease.task_id, done_task);
    let mut tx = db.pool.begin().await.unwrap();
    assert!(queue.finish(&mut tx, &lease, "succeeded", None).await.unwrap());
    tx.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    assert_eq!(queue.prune().await.unwrap(), 1, "only the finished job");
    let jobs: Vec<String> =
        sqlx::query_scalar("SELECT task_id FROM jobs").fetch_all(&db.pool).await.unwrap();
    assert_eq!(jobs, [waiting]);
    assert_eq!(scalar_i64(&db, "SELECT COUNT(*) FROM tasks WHERE id = $1", &done_task).await, 1);
    assert_eq!(ledger_of(&db, &done_task).await, ["reserve"]);
}
