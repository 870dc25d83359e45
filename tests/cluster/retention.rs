//! Retention's crash safety, for real: `lithos retention` killed with SIGKILL in the middle of
//! a sweep, then run again, ends where one uninterrupted sweep ends, and at no moment does a
//! row point at a file that is gone unless it is marked deleted.

use std::process::Command;
use std::time::Duration;

/// Every upload row: (id, its file exists, deleted, marked for deletion or deleted).
async fn state(db: &lithos_server::Db, dir: &std::path::Path) -> Vec<(String, bool, bool, bool)> {
    let rows: Vec<(String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, storage_key, deleted_at, sweep_started_at FROM uploads ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, key, deleted, marked)| {
            let exists = dir.join("files").join(key).exists();
            (id, exists, deleted.is_some(), marked.is_some() || deleted.is_some())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_killed_midway_and_run_again_ends_as_one_uninterrupted_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = lithos_server::Config {
        data_dir: dir.path().to_owned(),
        workers: 0,
        ..lithos_server::Config::default()
    };
    // 600 uploads in seconds: far past a person's uploads a minute.
    config.billing.plans[0].limits.uploads_per_minute = None;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = lithos_server::launch(listener, config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let client = super::registered(&base, "many@example.org").await;
    let image = super::png(8, 8, |x, y| (x * y) as u8);
    for i in 0..600 {
        let part = reqwest::multipart::Part::bytes(image.clone()).file_name(format!("u{i}.png"));
        let form = reqwest::multipart::Form::new().part("file", part);
        let response =
            client.post(format!("{base}/api/v1/uploads")).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), 201);
    }
    let db = server.db.clone();
    server.shutdown().await;

    // Two days on, every one of them is past its grace period.
    let as_of = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let as_of = as_of.format(&time::format_description::well_known::Rfc3339).unwrap();
    let sweep = || {
        Command::new(env!("CARGO_BIN_EXE_lithos"))
            .args(["retention", "--data-dir"])
            .arg(dir.path())
            .args(["--as-of", &as_of])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut killed = None;
    for _ in 0..4 {
        // Killed as soon as it is seen deleting: however slowly a loaded machine starts it,
        // it is caught midway (600 outputs take it many batches).
        let mut child = sweep();
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none() {
            if state(&db, dir.path()).await.iter().any(|r| r.2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let now = state(&db, dir.path()).await;
        let deleted = now.iter().filter(|r| r.2).count();
        if deleted > 0 && deleted < now.len() {
            killed = Some(now);
            break;
        }
        // Started too late or finished too early: the test needs a sweep caught midway.
        assert!(deleted < now.len(), "a sweep finished before it could be killed");
    }
    let midway = killed.expect("a sweep was killed midway");
    for (id, exists, _, marked) in &midway {
        assert!(*exists || *marked, "{id}: its row points at a missing file, unmarked");
    }
    // The lease of the killed sweep lapses; a new sweep finishes the job.
    sqlx::query("UPDATE sweeper_lease SET expires_at = 0").execute(&db.pool).await.unwrap();
    let status = sweep().wait().unwrap();
    assert!(status.success());
    let end = state(&db, dir.path()).await;
    assert_eq!(end.len(), 600);
    assert!(end.iter().all(|(_, exists, deleted, _)| !exists && *deleted), "every source swept");
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM uploads WHERE sweep_started_at IS NOT NULL AND deleted_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "nothing left half-done");
}
