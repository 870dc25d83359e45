//! `TestApp`: a running app and typed helpers to talk HTTP to it.

use std::time::Duration;

use lithos_server::{Config, Running};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// `send`, then the body as JSON: the tests' most common request.
pub trait FetchJson {
    fn fetch_json<T: serde::de::DeserializeOwned>(self) -> impl Future<Output = T>;
}

impl FetchJson for reqwest::RequestBuilder {
    async fn fetch_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }
}

pub struct TestApp {
    pub base: String,
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    /// When the app was first started: mail delivered before then is another run's.
    pub created: std::time::SystemTime,
}

/// A fresh database URL: SQLite in `dir`, or a new PostgreSQL database.
async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("LITHOS_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!("lithos_test_{}", lithos_server::new_id());
            let db = lithos_server::Db::connect(&server).await.expect("the PostgreSQL server");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&db.pool).await.unwrap();
            let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("lithos.db").display()),
    }
}

/// The SMTP server the test command starts (`aiosmtpd`, writing a Maildir), when it runs.
fn smtp_url() -> Option<String> {
    let url = std::env::var("LITHOS_TEST_SMTP_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("LITHOS_TEST_REQUIRE_SMTP").is_ok() {
        panic!("LITHOS_TEST_REQUIRE_SMTP is set but LITHOS_TEST_SMTP_URL is not");
    }
    url
}

impl TestApp {
    /// The plain-text bodies of the mail sent to `address` so far, oldest first: from the
    /// test SMTP server's Maildir, or (without one) from the app's outbox directory. Waits
    /// until there are at least `count`.
    pub async fn mail_to(&self, address: &str, count: usize) -> Vec<String> {
        let dir = match std::env::var("LITHOS_TEST_MAILDIR") {
            Ok(dir) if smtp_url().is_some() => std::path::PathBuf::from(dir).join("new"),
            _ => self.dir.path().join("outbox"),
        };
        for _ in 0..200 {
            let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let bytes = std::fs::read(entry.path()).unwrap();
                let mail = mailparse::parse_mail(&bytes).unwrap();
                let to = mailparse::MailHeaderMap::get_first_value(&mail.headers[..], "To")
                    .unwrap_or_default();
                if !to.to_lowercase().contains(&address.to_lowercase()) {
                    continue;
                }
                let subject =
                    mailparse::MailHeaderMap::get_first_value(&mail.headers[..], "Subject")
                        .unwrap_or_default();
                let text = mail
                    .subparts
                    .iter()
                    .find(|p| p.ctype.mimetype == "text/plain")
                    .map(|p| p.get_body().unwrap())
                    .unwrap_or_else(|| mail.get_body().unwrap());
                let modified = entry.metadata().unwrap().modified().unwrap();
                if modified < self.created {
                    continue;
                }
                found.push((modified, format!("Subject: {subject}\n\n{text}")));
            }
            if found.len() >= count {
                found.sort();
                return found.into_iter().map(|(_, text)| text).collect();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} mails reached {address} in {}", dir.display());
    }

    /// One retention sweep over this app's database and files, with the default periods, as
    /// if it were `as_of` (epoch ms).
    pub async fn sweep(&self, as_of: i64) -> lithos_server::retention::Report {
        let config = Config { data_dir: self.dir.path().to_owned(), ..Config::default() };
        let storage =
            lithos_server::storage::Storage::open_spec(&config.storage_spec(), &config.s3)
                .await
                .unwrap();
        let db = &self.running.as_ref().expect("the app runs").db;
        lithos_server::retention::sweep(db, &storage, &config, as_of, false).await.unwrap()
    }

    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::spawn_on(listener, adjust).await
    }

    /// The app on a listener bound beforehand: what must know its address before it starts
    /// (a login provider's redirect URI) can be set up first.
    pub async fn spawn_on(
        listener: tokio::net::TcpListener,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(dir.path()).await;
        let created = std::time::SystemTime::now() - Duration::from_secs(1);
        let mut app = TestApp { base: String::new(), running: None, dir, database_url, created };
        app.start_on(listener, adjust).await;
        app
    }

    /// Starts (or restarts) the app over the same data directory and database.
    pub async fn start(&mut self, adjust: impl FnOnce(&mut Config)) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.start_on(listener, adjust).await;
    }

    async fn start_on(
        &mut self,
        listener: tokio::net::TcpListener,
        adjust: impl FnOnce(&mut Config),
    ) {
        let mut config = Config {
            data_dir: self.dir.path().to_owned(),
            database_url: Some(self.database_url.clone()),
            workers: 1,
            backend: lithos_engine::BackendChoice::Cpu,
            smtp_url: smtp_url().map(lithos_server::config::Secret),
            ..Config::default()
        };
        adjust(&mut config);
        let running = lithos_server::launch(listener, config).await.expect("the app starts");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// A client with its own cookie jar that sends this site's Origin, as a browser would.
    pub fn browser(&self) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.base.parse().unwrap());
        Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap()
    }

    /// Registers a user in a fresh browser and returns it signed in.
    pub async fn user(&self, email: &str) -> Client {
        let client = self.browser();
        let response = client
            .post(self.url("/auth/register"))
            .json(&json!({ "email": email, "password": "correct horse battery", "name": "Tester", "birth_date": "1990-05-17" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        client
    }

    /// A fresh browser signed in as the user `email` (registered by [`TestApp::user`]).
    pub async fn login(&self, email: &str) -> Client {
        let client = self.browser();
        let response = client
            .post(self.url("/auth/login"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        client
    }

    /// An administrator (`email`, made through `lithos admin`'s code) signed in in a fresh
    /// browser.
    pub async fn admin(&self, email: &str) -> Client {
        let db = lithos_server::Db::connect(&self.database_url).await.unwrap();
        lithos_server::admin::create_user(&db, email, "Operator", "correct horse battery", true, 0)
            .await
            .unwrap();
        self.login(email).await
    }

    /// An API key for a signed-in browser; returns a client that sends it.
    pub async fn api_client(&self, browser: &Client) -> (Client, String) {
        let key: Value = browser
            .post(self.url("/api-keys"))
            .json(&json!({ "name": "tests" }))
            .fetch_json()
            .await;
        let key = key["key"].as_str().unwrap().to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
        (Client::builder().default_headers(headers).build().unwrap(), key)
    }

    pub async fn upload(&self, client: &Client, name: &str, bytes: Vec<u8>) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        client.post(self.url("/uploads")).multipart(form).send().await.unwrap()
    }

    pub async fn upload_ok(&self, client: &Client, name: &str, bytes: Vec<u8>) -> String {
        let response = self.upload(client, name, bytes).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn submit(&self, client: &Client, body: &Value) -> Response {
        client.post(self.url("/tasks")).json(body).send().await.unwrap()
    }

    /// Submits a task and returns it as created (201).
    pub async fn submit_ok(&self, client: &Client, body: &Value) -> Value {
        let response = self.submit(client, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Submits a task, waits for it, and returns it once it has succeeded.
    pub async fn run_ok(&self, client: &Client, body: &Value) -> Value {
        let response = self.submit(client, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let task: Value = response.json().await.unwrap();
        let done = self.wait(client, task["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        done
    }

    /// Polls a task until it leaves queued/running.
    pub async fn wait(&self, client: &Client, id: &str) -> Value {
        for _ in 0..600 {
            let task: Value = client.get(self.url(&format!("/tasks/{id}"))).fetch_json().await;
            if !matches!(task["status"].as_str(), Some("queued" | "running")) {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("task {id} did not finish");
    }

    pub async fn credits(&self, client: &Client) -> Value {
        client.get(self.url("/credits?limit=100")).fetch_json().await
    }
}

/// A worker pool beside the app, as another process would run it: its own queue settings and
/// storage, the app's database.
pub async fn worker_pool(
    app: &TestApp,
    storage: lithos_server::storage::Storage,
    config: lithos_server::tasks::queue::QueueConfig,
    concurrency: usize,
) -> (lithos_server::worker::Pool, lithos_server::worker::Handle) {
    let engine = lithos_engine::Engine::new(&lithos_engine::EngineOptions {
        backend: lithos_engine::BackendChoice::Cpu,
        gpu_limits: None,
    })
    .unwrap();
    let db = app.running.as_ref().expect("running").db.clone();
    lithos_server::worker::Pool::start(
        lithos_server::tasks::queue::Queue::new(db, config),
        std::sync::Arc::new(storage),
        std::sync::Arc::new(engine),
        lithos_server::worker::PoolOptions {
            grace: Duration::from_secs(30),
            ..lithos_server::worker::PoolOptions::new(concurrency, "worker", &Config::default())
        },
    )
    .await
    .unwrap()
}

/// Every file under `dir`.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A small PNG: a grey ramp `size` pixels square.
pub fn png(size: u32) -> Vec<u8> {
    let image = image::GrayImage::from_fn(size, size, |x, y| image::Luma([((x + y) % 256) as u8]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

pub fn camera() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/camera.png")).unwrap()
}

/// The ledger entries of one task, oldest first: (kind, amount).
pub fn task_ledger(credits: &Value, task: &str) -> Vec<(String, i64)> {
    let mut entries: Vec<(String, i64)> = credits["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["task_id"] == task)
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["amount"].as_i64().unwrap()))
        .collect();
    entries.reverse();
    entries
}

/// The token of the first link in a mail's text (`…?token=…`).
pub fn token_in(mail: &str) -> String {
    let start = mail.find("token=").expect("a link with a token") + "token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

/// A stand-in for an outside service (`tests/creem/standin.py`, `tests/generation/standin.py`)
/// on a free port, started with `args`; killed when dropped.
pub struct Standin {
    child: std::process::Child,
    pub base: String,
}

impl Standin {
    /// Runs the script at `path` (from the repository's root), which prints `listening on
    /// PORT` once it serves.
    pub fn start(path: &str, args: &[&str]) -> Standin {
        use std::io::BufRead;
        let script = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the stand-in");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening on ").expect("the stand-in's port");
        Standin { child, base: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the current fixed window of `window_ms` (a rate limit's minute, or a day) has
/// at least 15 s left, so that what a test counts against a limit falls in one window: a
/// burst that straddles two is counted twice as generously.
pub async fn inside_one_window(window_ms: u64) {
    loop {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        let into = now.as_millis() as u64 % window_ms;
        if window_ms - into >= 15_000 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(window_ms - into + 50)).await;
    }
}

/// A minute, as the rate limits count it.
pub const MINUTE_MS: u64 = 60_000;
/// A day (UTC), as the daily limits count it.
pub const DAY_MS: u64 = 86_400_000;
