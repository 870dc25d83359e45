//! The `lithos` binary as a service, for real. Its privacy (`privacy.rs`): `lithos serve`
//! logging at debug level keeps no patient attribute of a DICOM series. Its retention
//! (`retention.rs`): a sweep killed midway resumes and ends as one uninterrupted sweep. Its
//! abuse limits (`limits.rs`): three replicas on one database admit exactly the limit.
//!
//! And Lithos at scale: an API server with no workers of its own, three `lithos worker`
//! processes, one PostgreSQL and one S3 server (SeaweedFS), all started by tests/run-all.sh
//! (`LITHOS_TEST_POSTGRES_SERVER`, `LITHOS_TEST_S3_ENDPOINT`, `LITHOS_TEST_S3_BUCKET`).
//!
//! 200 mixed tasks go in; one worker is killed with SIGKILL in the middle of a job. Every task
//! must succeed exactly once, with a closed, manifold mesh in the bucket, no ledger entry
//! twice, and exactly the tasks' costs spent.

mod limits;
mod privacy;
mod retention;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lithos_server::storage::{S3Options, Storage};
use lithos_server::{Config, Db};
use reqwest::Client;
use serde_json::{Value, json};

struct Services {
    postgres: String,
    s3_endpoint: String,
    bucket: String,
}

fn services() -> Option<Services> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("LITHOS_TEST_POSTGRES_SERVER"),
        var("LITHOS_TEST_S3_ENDPOINT"),
        var("LITHOS_TEST_S3_BUCKET"),
    ) {
        (Some(postgres), Some(s3_endpoint), Some(bucket)) => {
            Some(Services { postgres, s3_endpoint, bucket })
        }
        _ => {
            assert!(
                std::env::var_os("LITHOS_TEST_REQUIRE_S3").is_none(),
                "the test script must name PostgreSQL and S3 servers"
            );
            eprintln!("skipped: needs PostgreSQL and S3 servers; tests/run-all.sh starts them");
            None
        }
    }
}

/// A fresh database on the server.
async fn fresh_database(server: &str) -> String {
    let name = format!("lithos_cluster_{}", lithos_server::new_id());
    let db = Db::connect(server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&db.pool).await.unwrap();
    db.pool.close().await;
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}")
}

/// A `lithos worker` process; killed when dropped.
struct Worker {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_worker(database: &str, s: &Services, dir: &std::path::Path, n: usize) -> Worker {
    let log = dir.join(format!("worker-{n}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_lithos"))
        .args(["worker", "--database-url", database])
        .args(["--storage", &format!("s3://{}", s.bucket), "--s3-endpoint", &s.s3_endpoint])
        .args(["--concurrency", "2", "--backend", "cpu"])
        .args([
            "--lease-seconds",
            "3",
            "--heartbeat-seconds",
            "1",
            "--shutdown-grace-seconds",
            "20",
        ])
        .env("LITHOS_POLL_SECONDS", "0.5")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the lithos binary");
    Worker { child, log }
}

/// A browser-like client (cookies, this site's Origin) of a new account `email`.
async fn registered(base: &str, email: &str) -> Client {
    let client = Client::builder()
        .cookie_store(true)
        .default_headers([(reqwest::header::ORIGIN, base.parse().unwrap())].into_iter().collect())
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({ "email": email, "password": "correct horse battery", "name": "C", "birth_date": "1990-05-17" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    client
}

fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let image = image::GrayImage::from_fn(width, height, |x, y| image::Luma([pixel(x, y)]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

async fn upload(client: &Client, base: &str, name: &str, bytes: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let response =
        client.post(format!("{base}/api/v1/uploads")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// Closed and manifold, checked on the welded binary STL: every directed edge exactly once
/// and its reverse exactly once, no degenerate triangle.
fn assert_closed_manifold(label: &str, stl: &[u8]) {
    assert!(stl.len() >= 84, "{label}: too short for an STL");
    let count = u32::from_le_bytes(stl[80..84].try_into().unwrap()) as usize;
    assert_eq!(stl.len(), 84 + 50 * count, "{label}: size matches the triangle count");
    let mut ids: HashMap<[u32; 3], u32> = HashMap::new();
    let mut directed: HashSet<(u32, u32)> = HashSet::with_capacity(count * 3);
    for record in stl[84..].chunks_exact(50) {
        let corner = |k: usize| -> [u32; 3] {
            let at = 12 + 12 * k;
            [0, 1, 2]
                .map(|i| u32::from_le_bytes(record[at + 4 * i..at + 4 * i + 4].try_into().unwrap()))
        };
        let mut v = [0u32; 3];
        for (k, id) in v.iter_mut().enumerate() {
            let next = ids.len() as u32;
            *id = *ids.entry(corner(k)).or_insert(next);
        }
        assert!(v[0] != v[1] && v[1] != v[2] && v[0] != v[2], "{label}: degenerate triangle");
        for (a, b) in [(v[0], v[1]), (v[1], v[2]), (v[2], v[0])] {
            assert!(directed.insert((a, b)), "{label}: an edge is used twice in one direction");
        }
    }
    for &(a, b) in &directed {
        assert!(directed.contains(&(b, a)), "{label}: an edge has no opposite (a hole)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_200_tasks_one_killed_mid_job_every_task_exactly_once() {
    let Some(s) = services() else { return };
    let database = fresh_database(&s.postgres).await;
    let dir = tempfile::tempdir().unwrap();

    // The API server: no workers of its own.
    let config = Config {
        data_dir: dir.path().to_owned(),
        database_url: Some(database.clone()),
        workers: 0,
        free_credits: 100_000,
        storage: Some(format!("s3://{}", s.bucket)),
        s3: S3Options { endpoint: Some(s.s3_endpoint.clone()), ..S3Options::default() },
        ..Config::default()
    };
    // 200 tasks at once: far past a person's tasks a minute.
    let mut config = config;
    config.billing.plans[0].limits.tasks_per_minute = None;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = lithos_server::launch(listener, config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let db = server.db.clone();

    let client = registered(&base, "cluster@example.org").await;
    let start_balance: i64 =
        sqlx::query_scalar("SELECT balance FROM users").fetch_one(&db.pool).await.unwrap();

    let ramp =
        upload(&client, &base, "ramp.png", png(96, 64, |x, y| ((x * 2 + y) % 256) as u8)).await;
    let disc = upload(
        &client,
        &base,
        "disc.png",
        png(64, 64, |x, y| {
            let (dx, dy) = (x as f32 - 31.5, y as f32 - 31.5);
            if dx * dx + dy * dy < 26.0 * 26.0 { 255 } else { 0 }
        }),
    )
    .await;
    let noise = upload(
        &client,
        &base,
        "noise.png",
        png(80, 80, |x, y| ((x * 7919 + y * 104_729) % 251) as u8),
    )
    .await;

    let mut workers: Vec<Worker> =
        (0..3).map(|n| start_worker(&database, &s, dir.path(), n)).collect();

    // 200 mixed tasks; every tenth a larger relief, so that jobs are in flight to kill.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let body = match i % 10 {
            0 => json!({ "upload_id": ramp, "mode": "relief", "params": { "grid": 900 } }),
            1 | 4 | 7 => {
                json!({ "upload_id": ramp, "mode": "relief", "params": { "max_grid": 96, "invert": i % 2 == 0 } })
            }
            2 | 5 => {
                json!({ "upload_id": noise, "mode": "lithophane", "params": { "grid": 100 + i % 40 } })
            }
            3 | 8 => {
                json!({ "upload_id": disc, "mode": "solid", "params": { "depth_mm": 3, "width_mm": 30 } })
            }
            _ => {
                json!({ "upload_id": disc, "mode": "relief", "params": { "mask": "threshold", "threshold": 0.5 } })
            }
        };
        let response =
            client.post(format!("{base}/api/v1/tasks")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let task: Value = response.json().await.unwrap();
        tasks.push((task["id"].as_str().unwrap().to_owned(), task["cost"].as_i64().unwrap()));
    }

    // Kill worker 0 while it holds a job.
    let victim_pid = i64::from(workers[0].child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_task: String = loop {
        let held: Option<String> = sqlx::query_scalar(
            "SELECT j.task_id FROM jobs j JOIN workers w ON w.id = j.lease_owner \
             WHERE w.pid = $1 AND j.state = 'running' LIMIT 1",
        )
        .bind(victim_pid)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if let Some(task) = held {
            workers[0].child.kill().unwrap(); // SIGKILL
            workers[0].child.wait().unwrap();
            break task;
        }
        assert!(Instant::now() < deadline, "worker 0 never ran a job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE status IN ('queued', 'running')")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} tasks still open; logs in {:?}",
            workers.iter().map(|w| &w.log).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every task succeeded, once.
    /// id, status, attempts, output_key, result
    type TaskRow = (String, String, i64, Option<String>, Option<String>);
    let rows: Vec<TaskRow> =
        sqlx::query_as("SELECT id, status, attempts, output_key, result FROM tasks ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 200);
    for (id, status, _, _, _) in &rows {
        if status != "succeeded" {
            let error: Option<String> = sqlx::query_scalar("SELECT error FROM tasks WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            panic!(
                "task {id} is {status}: {error:?}; logs in {:?}",
                workers.iter().map(|w| &w.log).collect::<Vec<_>>()
            );
        }
    }
    // Only the killed worker's attempts (it ran up to 2 at once) did not succeed: no settle
    // failed and no lease ran out under load.
    let unsuccessful: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.task_id, a.outcome, w.pid FROM job_attempts a JOIN workers w ON w.id = a.worker_id \
         WHERE a.outcome <> 'succeeded' ORDER BY a.task_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        unsuccessful.iter().all(|(_, outcome, pid)| outcome == "lost" && *pid == victim_pid),
        "{unsuccessful:?}"
    );
    assert!(unsuccessful.iter().any(|(task, _, _)| *task == killed_task), "{unsuccessful:?}");
    let (_, _, attempts, killed_key, _) = rows.iter().find(|r| r.0 == killed_task).unwrap();
    assert!(*attempts >= 2, "the killed worker's job ran again");
    assert!(killed_key.as_deref().unwrap().ends_with(&format!("-{attempts}.stl")));

    // No ledger entry twice; exactly the tasks' costs spent.
    let duplicates: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT task_id, kind FROM ledger WHERE task_id IS NOT NULL \
         GROUP BY task_id, kind HAVING COUNT(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0, "no ledger entry is duplicated");
    let kinds: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger \
         WHERE task_id IS NOT NULL GROUP BY kind ORDER BY kind",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let total_cost: i64 = tasks.iter().map(|(_, cost)| cost).sum();
    assert_eq!(kinds, [("capture".to_owned(), 200, 0), ("reserve".to_owned(), 200, -total_cost)]);
    let captured: i64 = sqlx::query_scalar("SELECT CAST(SUM(credits) AS BIGINT) FROM usage_events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(captured, total_cost, "credits captured = the sum of the tasks' costs");
    let balance: i64 =
        sqlx::query_scalar("SELECT balance FROM users").fetch_one(&db.pool).await.unwrap();
    assert_eq!(balance, start_balance - total_cost);

    // Every output is in the bucket, whole, closed and manifold; the killed attempt left none.
    let store = Storage::open_spec(
        &format!("s3://{}", s.bucket),
        &S3Options { endpoint: Some(s.s3_endpoint.clone()), ..S3Options::default() },
    )
    .await
    .unwrap();
    for (id, _, attempts, key, result) in &rows {
        let key = key.as_deref().unwrap();
        let result: Value = serde_json::from_str(result.as_deref().unwrap()).unwrap();
        let stl = store.get(key).await.unwrap();
        assert_eq!(stl.len() as u64, result["bytes"].as_u64().unwrap(), "task {id}");
        assert_closed_manifold(&format!("task {id}"), &stl);
        for earlier in 1..*attempts {
            let stale = key.replace(&format!("-{attempts}.stl"), &format!("-{earlier}.stl"));
            assert_eq!(
                store.size(&stale).await.unwrap(),
                None,
                "task {id}: attempt {earlier} left an object"
            );
        }
    }

    // The survivors stop cleanly on SIGTERM and say so in the registry.
    for worker in &mut workers[1..] {
        let pid = worker.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = worker.child.wait().unwrap();
        assert!(
            status.success(),
            "worker exits cleanly: {}",
            std::fs::read_to_string(&worker.log).unwrap()
        );
    }
    let registry: Vec<(i64, Option<i64>, i64)> =
        sqlx::query_as("SELECT pid, stopped_at, jobs_done FROM workers ORDER BY started_at")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(registry.len(), 3);
    let done: i64 = registry.iter().map(|r| r.2).sum();
    assert_eq!(done, 200, "each job finished by exactly one worker");
    for (pid, stopped, _) in &registry {
        assert_eq!(
            stopped.is_none(),
            *pid == victim_pid,
            "only the killed worker has no stop time"
        );
    }
    server.shutdown().await;
}
