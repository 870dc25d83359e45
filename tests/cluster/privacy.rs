//! DICOM headers carry patients' names, ids and birth dates. `lithos serve`, as it runs in
//! production (its own process, logging at debug level), takes a CT series from a ZIP to a
//! mesh, is shown broken series, and none of those attributes reaches its log, its database
//! or its outputs; only the uploaded file itself holds them.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

const SECRETS: [&str; 3] = ["Doe^Jane^Privacy", "PID-7731-SECRET", "19700101"];

/// Every file under `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(files(&path)) } else { found.push(path) }
    }
    found
}

fn leaks(bytes: &[u8]) -> Vec<&'static str> {
    let text = String::from_utf8_lossy(bytes);
    SECRETS.into_iter().filter(|s| text.contains(s)).collect()
}

/// `lithos serve` on SQLite in `data/lithos`, logging at debug level to `data/serve.log`.
struct Serve {
    server: std::process::Child,
    base: String,
    client: Client,
    log: std::path::PathBuf,
}

impl Serve {
    async fn start(data: &std::path::Path) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = data.join("serve.log");
        let mut server = Command::new(env!("CARGO_BIN_EXE_lithos"))
            .args(["serve", "--data-dir"])
            .arg(data.join("lithos"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "1"])
            .env("RUST_LOG", "debug")
            .env("LITHOS_BACKEND", "cpu")
            .stdout(std::fs::File::create(data.join("serve.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .expect("the lithos binary");
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::builder()
            .cookie_store(true)
            .default_headers(
                [(reqwest::header::ORIGIN, base.parse().unwrap())].into_iter().collect(),
            )
            .build()
            .unwrap();
        for _ in 0..300 {
            if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                return Serve { server, base, client, log };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = server.kill();
        let _ = server.wait();
        panic!("lithos serve did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_is_refused_and_nothing_about_them_is_stored_or_logged() {
    let data = tempfile::tempdir().unwrap();
    let Serve { mut server, base, client, log } = Serve::start(data.path()).await;
    let today = time::OffsetDateTime::now_utc().date();
    let born = |years_ago: i32| {
        let day = today.replace_day(1).unwrap();
        format!("{}-{:02}-01", day.year() - years_ago, u8::from(day.month()))
    };
    let register = |birth_date: String, email: &'static str, name: &'static str| {
        let client = client.clone();
        let url = format!("{base}/api/v1/auth/register");
        async move {
            let body = json!({ "email": email, "password": "a long passphrase", "name": name, "birth_date": birth_date });
            client.post(url).json(&body).send().await.unwrap()
        }
    };
    let refused = register(born(12), "kiddo.child@example.org", "Kiddo Nameless").await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("under 13"), "{body}");
    assert!(
        client.get(format!("{base}/api/v1/me")).send().await.unwrap().status() == 401,
        "no session"
    );
    // A thirteen-year-old is served, and what is kept is when the age was confirmed.
    let served = register(born(13), "teen@example.org", "Teen").await;
    assert_eq!(served.status(), 201);
    let _ = server.kill();
    let _ = server.wait();

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("/api/v1/auth/register"), "the requests were logged");
    for path in files(data.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in ["kiddo.child", "Kiddo Nameless", &born(12), &born(13)] {
            assert!(!text.contains(secret), "{} holds {secret:?}", path.display());
        }
    }
    let db = data.path().join("lithos/lithos.db");
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT email, age_confirmed_at FROM users").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1, "only the teenager has an account: {rows:?}");
    assert_eq!(rows[0].0, "teen@example.org");
    assert!(rows[0].1.is_some(), "the confirmation's time is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_patient_attribute_reaches_the_log_the_database_or_an_output() {
    let cases = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/engine/scripts/dicom_cases.py");
    let run = Command::new("python3").arg(script).arg(cases.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let data = tempfile::tempdir().unwrap();
    let Serve { mut server, base, client, log } = Serve::start(data.path()).await;
    let api = |path: &str| format!("{base}/api/v1{path}");
    let response = client
        .post(api("/auth/register"))
        .json(&json!({ "email": "radiology@example.org", "password": "correct horse battery", "name": "R", "birth_date": "1990-05-17" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let upload = |name: &'static str| {
        let client = client.clone();
        let bytes = std::fs::read(cases.path().join(name)).unwrap();
        let url = api("/uploads");
        async move {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
            let form = reqwest::multipart::Form::new().part("file", part);
            client.post(url).multipart(form).send().await.unwrap()
        }
    };
    let response = upload("phantom.zip").await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(leaks(body.to_string().as_bytes()).is_empty(), "{body}");
    let task: Value = client
        .post(api("/tasks"))
        .json(&json!({ "upload_id": body["id"], "mode": "volume", "params": { "iso": "bone" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..600 {
        done = client.get(api(&format!("/tasks/{id}"))).send().await.unwrap().json().await.unwrap();
        if !matches!(done["status"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    let stl = client.get(api(&format!("/tasks/{id}/output"))).send().await.unwrap();
    assert!(leaks(&stl.bytes().await.unwrap()).is_empty(), "the mesh");
    // Refused series are logged and answered without their headers too.
    for broken in ["MR_small_jpeg_ls_lossless.dcm", "SC_rgb_rle.dcm"] {
        let response = upload(broken).await;
        assert!(response.status().is_client_error());
        assert!(leaks(&response.bytes().await.unwrap()).is_empty(), "{broken}");
    }
    let _ = server.kill();
    let _ = server.wait();

    let all = files(data.path());
    let uploads: Vec<_> =
        all.iter().filter(|p| p.to_string_lossy().contains("/uploads/")).collect();
    assert_eq!(uploads.len(), 1, "the one stored upload: {all:?}");
    // The stored ZIP is compressed: its slices hold them, so a leak would be seen.
    let mut stored = zip::ZipArchive::new(std::fs::File::open(uploads[0]).unwrap()).unwrap();
    let mut slice = Vec::new();
    std::io::Read::read_to_end(&mut stored.by_index(0).unwrap(), &mut slice).unwrap();
    assert_eq!(leaks(&slice).len(), 3, "the scan itself holds them");
    let log_text = std::fs::read(&log).unwrap();
    assert!(log_text.len() > 1000, "a debug log was written");
    for path in all.iter().filter(|p| !p.to_string_lossy().contains("/uploads/")) {
        let leaked = leaks(&std::fs::read(path).unwrap());
        assert!(leaked.is_empty(), "{} holds {leaked:?}", path.display());
    }
}
