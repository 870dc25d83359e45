//! Claim throughput: 8 concurrent claimers drain a queue of jobs through `Queue::claim`, one
//! job per claim, as workers do; prints claims per second and checks that no job was claimed
//! twice and none was missed.
//!
//! `LITHOS_BENCH_POSTGRES_URL=postgres://…/postgres cargo bench --bench queue_claims` (a fresh
//! database is created on that server); without it, SQLite in a temporary directory.
//! `LITHOS_BENCH_JOBS` sets the queue length (default 20,000).

use std::collections::HashSet;
use std::time::Instant;

use lithos_server::Db;
use lithos_server::tasks::queue::{Queue, QueueConfig};

#[path = "common/database.rs"]
mod database;

const CLAIMERS: usize = 8;

fn main() {
    // `cargo test --benches` runs this with `--test`-like flags; measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let jobs: usize =
        std::env::var("LITHOS_BENCH_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let (url, label) = database::database(dir.path()).await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let queue = Queue::new(db.clone(), QueueConfig::default());
    fill(&queue, jobs).await;

    let start = Instant::now();
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let owner = format!("bench-{i}");
                let mut mine = Vec::new();
                loop {
                    let leases = queue.claim(&owner, 1).await.unwrap();
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
    let seconds = start.elapsed().as_secs_f64();
    let unique: HashSet<&lithos_server::ids::TaskId> = claimed.iter().collect();
    assert_eq!(claimed.len(), jobs, "every job claimed");
    assert_eq!(unique.len(), jobs, "no job claimed twice");
    println!(
        "queue_claims/{label}: {jobs} jobs, {CLAIMERS} claimers: {:.0} claims/s ({seconds:.2} s), no double claims",
        jobs as f64 / seconds
    );
}

/// One user, one upload, `jobs` queued tasks and their jobs.
async fn fill(queue: &Queue, jobs: usize) {
    let db = &queue.db;
    let now = lithos_server::now_ms();
    sqlx::query(
        "INSERT INTO users (id, email, email_lower, name, password_hash, role, created_at) \
         VALUES ('u', 'b@example.org', 'b@example.org', 'B', 'x', 'user', $1)",
    )
    .bind(now)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, created_at) \
         VALUES ('up', 'u', 'users/u/uploads/up', 'a.png', 'image/png', 1, 1, 1, $1)",
    )
    .bind(now)
    .execute(&db.pool)
    .await
    .unwrap();
    for batch in (0..jobs).collect::<Vec<_>>().chunks(1000) {
        let mut tx = db.pool.begin().await.unwrap();
        for &i in batch {
            let id = format!("t{i:08}");
            sqlx::query(
                "INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, request_hash, created_at) \
                 VALUES ($1, 'u', 'up', 'relief', '{}', 'stl', 'queued', 1, 'h', $2)",
            )
            .bind(&id)
            .bind(now + i as i64)
            .execute(&mut *tx)
            .await
            .unwrap();
            queue.enqueue(&mut tx, &id, (i % 2) as i64).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}
