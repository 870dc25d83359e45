//! What the shared abuse limits add to `POST /api/v1/tasks`: two apps on the same database
//! server, identical but for the free plan's `tasks_per_minute` (none, or one so high it is
//! never reached, so every request takes its counter), take turns answering 2,000 task
//! submissions each; prints p50 and p99 of both and their difference.
//!
//! `LITHOS_BENCH_POSTGRES_URL=postgres://…/postgres cargo bench --bench limits` (fresh databases
//! are created on that server); without it, SQLite in temporary directories.
//! `LITHOS_BENCH_REQUESTS` sets the number of submissions per app (default 2,000).

use std::time::{Duration, Instant};

use lithos_server::Config;
use serde_json::{Value, json};

#[path = "common/database.rs"]
mod database;

fn main() {
    // `cargo test --benches` runs this with `--test`-like flags; measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

/// One app: its client (signed in, with an upload) and the request body to submit.
struct App {
    _running: lithos_server::Running,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
    base: String,
    body: Value,
}

async fn app(limit: Option<u32>) -> (App, &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let (url, label) = database::database(dir.path()).await;
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        database_url: Some(url),
        workers: 0,
        free_credits: 1_000_000,
        backend: lithos_engine::BackendChoice::Cpu,
        ..Config::default()
    };
    config.billing.plans[0].limits.tasks_per_minute = limit;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = lithos_server::launch(listener, config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers([(reqwest::header::ORIGIN, base.parse().unwrap())].into_iter().collect())
        .build()
        .unwrap();
    let made = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({ "email": "bench@example.org", "password": "correct horse battery", "name": "B", "birth_date": "1990-05-17" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/horse.png")).unwrap();
    let part = reqwest::multipart::Part::bytes(png).file_name("horse.png");
    let form = reqwest::multipart::Form::new().part("file", part);
    let upload: Value = client
        .post(format!("{base}/api/v1/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = json!({ "upload_id": upload["id"], "mode": "relief", "params": { "max_grid": 64 } });
    (App { _running: running, _dir: dir, client, base, body }, label)
}

impl App {
    async fn submit(&self) -> Duration {
        let start = Instant::now();
        let response = self
            .client
            .post(format!("{}/api/v1/tasks", self.base))
            .json(&self.body)
            .send()
            .await
            .unwrap();
        let took = start.elapsed();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        took
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn run() {
    let n: usize =
        std::env::var("LITHOS_BENCH_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let (off, label) = app(None).await;
    let (on, _) = app(Some(u32::MAX)).await;
    // Warm both, then alternate so that drift (a growing queue, the disk) falls on both alike.
    for _ in 0..50 {
        off.submit().await;
        on.submit().await;
    }
    let (mut without, mut with) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        without.push(off.submit().await);
        with.push(on.submit().await);
    }
    without.sort();
    with.sort();
    let (p50_off, p99_off) = (percentile(&without, 0.5), percentile(&without, 0.99));
    let (p50_on, p99_on) = (percentile(&with, 0.5), percentile(&with, 0.99));
    println!("POST /api/v1/tasks on {label}, {n} submissions each, sequential, loopback:");
    println!("  without the tasks_per_minute counter: p50 {p50_off:.2} ms, p99 {p99_off:.2} ms");
    println!("  with the counter:                     p50 {p50_on:.2} ms, p99 {p99_on:.2} ms");
    println!(
        "  added by the limit check:             p50 {:+.2} ms, p99 {:+.2} ms",
        p50_on - p50_off,
        p99_on - p99_off
    );
}
