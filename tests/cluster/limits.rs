//! Abuse limits across replicas: three `lithos serve` processes on one PostgreSQL database,
//! hammered in parallel, admit exactly the limit between them: sign-in attempts from one
//! address, and one account's tasks a minute.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::{fresh_database, png, services};

const TASKS_PER_MINUTE: usize = 7;
/// `limits::Rule::sign_in_per_ip`'s.
const SIGN_INS_PER_MINUTE: usize = 20;

struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the requests at once; their answers in order.
async fn all<T: Send + 'static>(
    requests: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    answers
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until the current minute has at least 15 s left, so that a burst stays in one of the
/// limits' windows.
async fn inside_one_minute() {
    loop {
        let ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
                % 60_000;
        if ms < 45_000 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(60_000 - ms as u64 + 50)).await;
    }
}

#[tokio::test]
async fn three_replicas_on_one_database_admit_exactly_the_limit() {
    let Some(s) = services() else { return };
    let database = fresh_database(&s.postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lithos.toml");
    std::fs::write(
        &config,
        format!("free_credits = 1000\n[billing.free]\ntasks_per_minute = {TASKS_PER_MINUTE}\n"),
    )
    .unwrap();
    let mut replicas = Vec::new();
    let mut bases = Vec::new();
    for n in 0..3 {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_lithos"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--database-url", &database, "--workers", "0"])
            .arg("--data-dir")
            .arg(dir.path().join("files-shared"))
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).unwrap())
            .spawn()
            .expect("the lithos binary");
        replicas.push(Replica(child));
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    for base in &bases {
        let mut ready = false;
        for _ in 0..300 {
            if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status().is_success()) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "{base} became ready");
    }

    // An account with an API key (no Origin to match per replica) and an upload.
    let browser = crate::registered(&bases[0], "limits@example.org").await;
    let key: Value = browser
        .post(format!("{}/api/v1/api-keys", bases[0]))
        .json(&json!({ "name": "hammer" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Client::builder()
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", key["key"].as_str().unwrap()).parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let upload =
        crate::upload(&browser, &bases[0], "ramp.png", png(32, 32, |x, y| (x * 8 + y) as u8)).await;

    // 30 tasks at once, ten through each replica.
    inside_one_minute().await;
    let answers = all((0..30).map(|i| {
        let (api, base, upload) = (api.clone(), bases[i % 3].clone(), upload.clone());
        async move {
            let response = api
                .post(format!("{base}/api/v1/tasks"))
                .json(
                    &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 32 } }),
                )
                .send()
                .await
                .unwrap();
            let status = response.status();
            let retry = response.headers().get("retry-after").is_some();
            let body: Value = response.json().await.unwrap();
            (status, retry, body)
        }
    }))
    .await;
    let created = answers.iter().filter(|(s, ..)| *s == StatusCode::CREATED).count();
    assert_eq!(created, TASKS_PER_MINUTE, "exactly the limit, across replicas: {answers:?}");
    for (status, retry, body) in answers.iter().filter(|(s, ..)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(retry, "Retry-After");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("tasks_per_minute"), "the limit is named: {message}");
    }
    let db = lithos_server::Db::connect(&database).await.unwrap();
    let tasks: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tasks").fetch_one(&db.pool).await.unwrap();
    let reserved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger WHERE kind = 'reserve'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        (tasks, reserved),
        (TASKS_PER_MINUTE as i64, TASKS_PER_MINUTE as i64),
        "no refused task kept or charged"
    );

    // 45 sign-in attempts from this address at once, on distinct accounts, across replicas.
    inside_one_minute().await;
    let answers = all((0..45).map(|i| {
        let base = bases[i % 3].clone();
        async move {
            Client::new()
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({ "email": format!("nobody{i}@example.org"), "password": "wrong password" }))
                .send()
                .await
                .unwrap()
                .status()
        }
    }))
    .await;
    let tried = answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((tried, limited), (SIGN_INS_PER_MINUTE, 45 - SIGN_INS_PER_MINUTE), "{answers:?}");
    drop(replicas);
}
