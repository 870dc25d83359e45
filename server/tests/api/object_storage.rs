//! S3 storage against a real S3 server (SeaweedFS `weed mini`, started by tests/run-all.sh,
//! named by `LITHOS_TEST_S3_ENDPOINT` and `LITHOS_TEST_S3_BUCKET`, credentials in the standard
//! `AWS_*` variables): presigned PUT and GET with plain curl, expiry and tampering, the
//! `complete` checks, downloads by redirect, a 200 MB output uploaded in parts, and transient
//! and permanent storage failures.

use std::process::Command;
use std::time::Duration;

use lithos_server::Config;
use lithos_server::storage::{S3Options, Storage};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, camera, task_ledger, worker_pool};

/// The test S3 server, or `None` (and a note) when the test script did not start one. When
/// the script asks for S3 (`LITHOS_TEST_REQUIRE_S3`), a missing server fails the test instead
/// of skipping it.
pub(crate) fn s3() -> Option<(String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("LITHOS_TEST_S3_ENDPOINT"), var("LITHOS_TEST_S3_BUCKET")) {
        (Some(endpoint), Some(bucket)) => Some((endpoint, bucket)),
        _ => {
            assert!(
                std::env::var_os("LITHOS_TEST_REQUIRE_S3").is_none(),
                "LITHOS_TEST_REQUIRE_S3 is set but LITHOS_TEST_S3_ENDPOINT or \
                 LITHOS_TEST_S3_BUCKET is not: the S3 tests would not run"
            );
            eprintln!("skipped: no S3 server; tests/run-all.sh starts one");
            None
        }
    }
}

/// Runs this test binary again on one S3 test, with S3 required but not named: it must fail,
/// not print "skipped" and pass.
#[test]
fn a_required_s3_server_that_is_missing_fails_the_tests() {
    let binary = std::env::current_exe().unwrap();
    let output = Command::new(binary)
        .args(["object_storage::presigned_urls_stop_working_when_they_expire", "--exact"])
        .env("LITHOS_TEST_REQUIRE_S3", "1")
        .env_remove("LITHOS_TEST_S3_ENDPOINT")
        .env_remove("LITHOS_TEST_S3_BUCKET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "passed without S3: {stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");
}

pub(crate) fn on_s3(endpoint: &str, bucket: &str) -> impl FnOnce(&mut Config) {
    let (endpoint, bucket) = (endpoint.to_owned(), bucket.to_owned());
    move |config| {
        config.storage = Some(format!("s3://{bucket}"));
        config.s3.endpoint = Some(endpoint);
    }
}

/// Storage at `spec` (`s3://bucket`) on the test server.
pub(crate) async fn store_at(spec: &str, endpoint: &str) -> Storage {
    let options = S3Options { endpoint: Some(endpoint.to_owned()), ..S3Options::default() };
    Storage::open_spec(spec, &options).await.unwrap()
}

/// `curl` with a method, headers and an optional body file; returns the status and body.
pub(crate) fn curl(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut command = Command::new("curl");
    command
        .args(["-s", "--max-time", "30", "-X", method, "-o"])
        .arg(&out)
        .args(["-w", "%{http_code}"]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(body) = body {
        let file = dir.path().join("body");
        std::fs::write(&file, body).unwrap();
        command.arg("--data-binary").arg(format!("@{}", file.display()));
    }
    let started = std::time::Instant::now();
    let output = command.arg(url).output().expect("curl is installed");
    eprintln!("curl {method} took {:?}", started.elapsed());
    let status = String::from_utf8_lossy(&output.stdout).parse().unwrap_or(0);
    (status, std::fs::read(&out).unwrap_or_default())
}

pub(crate) fn headers_of(request: &Value) -> Vec<(String, String)> {
    request["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The URL with the last character of its signature changed.
fn tampered(url: &str) -> String {
    let at = url.find("X-Amz-Signature=").expect("a SigV4 URL") + "X-Amz-Signature=".len();
    let end = url[at..].find('&').map_or(url.len(), |i| at + i);
    let last = &url[end - 1..end];
    let swapped = if last == "0" { "1" } else { "0" };
    format!("{}{swapped}{}", &url[..end - 1], &url[end..])
}

#[tokio::test]
async fn direct_uploads_and_downloads_go_through_short_lived_presigned_urls() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(on_s3(&endpoint, &bucket)).await;
    let user = app.user("direct@example.org").await;
    let image = camera();
    // The web app may show and fetch what the presigned URLs serve (pictures, previews).
    let page = reqwest::get(format!("{}/", app.base)).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let origin = url::Url::parse(&endpoint).unwrap().origin().ascii_serialization();
    assert!(csp.contains(&format!("img-src 'self' {origin} ")), "{csp}");
    assert!(csp.contains(&format!("connect-src 'self' {origin};")), "{csp}");

    let presign = |bytes: usize, content_type: &str| {
        let body =
            json!({ "filename": "camera.png", "bytes": bytes, "content_type": content_type });
        let request = user.post(app.url("/uploads/presign")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()
        }
    };
    let pending = presign(image.len(), "image/png").await;
    let id = pending["id"].as_str().unwrap();
    let put = &pending["upload"];
    assert_eq!(put["method"], "PUT");
    let url = put["url"].as_str().unwrap();
    let ttl = pending["expires_at"].as_i64().unwrap() - lithos_server::now_ms();
    assert!(ttl > 0 && ttl <= 15 * 60 * 1000, "expires within 15 minutes: {ttl} ms");
    let early = user.post(app.url(&format!("/uploads/{id}/complete"))).send().await.unwrap();
    assert_eq!(early.status(), 409, "nothing uploaded yet");
    let task_on_pending = app.submit(&user, &json!({ "upload_id": id, "mode": "relief" })).await;
    assert_eq!(task_on_pending.status(), 422, "a pending upload cannot be used");

    let headers = headers_of(put);
    eprintln!("presigned headers: {headers:?} url {url}");
    assert_eq!(curl("PUT", &tampered(url), &headers, Some(&image)).0, 403, "tampered URL");
    let (status, body) = curl("PUT", url, &headers, Some(&image));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let ready: Value = user.post(app.url(&format!("/uploads/{id}/complete"))).fetch_json().await;
    assert_eq!(ready["state"], "ready", "{ready}");
    assert_eq!((ready["width"].as_u64(), ready["height"].as_u64()), (Some(512), Some(512)));
    assert_eq!(ready["content_type"], "image/png");

    // Something that is not an image is refused at `complete`, and deleted.
    let junk = b"%PDF-1.7 not an image at all".repeat(4);
    let refused = presign(junk.len(), "image/png").await;
    let (status, _) = curl(
        "PUT",
        refused["upload"]["url"].as_str().unwrap(),
        &headers_of(&refused["upload"]),
        Some(&junk),
    );
    assert_eq!(status, 200);
    let refused_id = refused["id"].as_str().unwrap();
    let response =
        user.post(app.url(&format!("/uploads/{refused_id}/complete"))).send().await.unwrap();
    assert_eq!(response.status(), 415);
    let gone = user.get(app.url(&format!("/uploads/{refused_id}"))).send().await.unwrap();
    assert_eq!(gone.status(), 404, "the refused upload is gone");
    let store = store_at(&format!("s3://{bucket}"), &endpoint).await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let refused_key = format!("users/{}/uploads/{refused_id}", me["id"].as_str().unwrap());
    assert_eq!(store.size(&refused_key).await.unwrap(), None, "and so is its object");

    // The length is signed (`X-Amz-SignedHeaders` names it): curl sends the real, shorter
    // length, and the store refuses the request.
    let short = presign(image.len(), "image/png").await;
    let short_url = short["upload"]["url"].as_str().unwrap();
    assert!(short_url.contains("X-Amz-SignedHeaders=content-length"), "{short_url}");
    let mut short_headers = headers_of(&short["upload"]);
    short_headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
    let half = &image[..image.len() / 2];
    assert_eq!(curl("PUT", short_url, &short_headers, Some(half)).0, 403, "another length");
    let short_id = short["id"].as_str().unwrap();
    let short_key = format!("users/{}/uploads/{short_id}", me["id"].as_str().unwrap());
    assert_eq!(store.size(&short_key).await.unwrap(), None, "nothing stored");

    // The task runs on S3 and its output downloads from a presigned URL.
    let done = app
        .run_ok(&user, &json!({ "upload_id": id, "mode": "relief", "params": { "max_grid": 128 } }))
        .await;
    let task_id = done["id"].as_str().unwrap();
    let (client, _) = app.api_client(&user).await;
    // reqwest follows the redirect: the bytes come from the store.
    let response = client.get(app.url(&format!("/tasks/{task_id}/output"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.url().as_str().starts_with(&endpoint),
        "served by the store: {}",
        response.url()
    );
    assert!(response.url().as_str().contains("X-Amz-Expires="), "a presigned URL");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename=\"camera.stl\"");
    let stl = response.bytes().await.unwrap();
    let triangles = u64::from(u32::from_le_bytes(stl[80..84].try_into().unwrap()));
    assert_eq!(stl.len() as u64, 84 + 50 * triangles, "a whole binary STL");
    assert_eq!(triangles, done["result"]["triangles"].as_u64().unwrap());

    let other = app.user("other@example.org").await;
    let response = other.get(app.url(&format!("/tasks/{task_id}/output"))).send().await.unwrap();
    assert_eq!(response.status(), 404, "another user's output is not found");
}

#[tokio::test]
async fn presigned_urls_stop_working_when_they_expire() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(|c| {
        on_s3(&endpoint, &bucket)(c);
        // Long enough that a loaded machine still signs and fetches within it, short enough
        // to wait out.
        c.url_ttl = Duration::from_secs(3);
    })
    .await;
    let user = app.user("expiry@example.org").await;
    let image = camera();
    let pending: Value = user
        .post(app.url("/uploads/presign"))
        .json(&json!({ "filename": "c.png", "bytes": image.len(), "content_type": "image/png" }))
        .fetch_json()
        .await;
    let put = &pending["upload"];
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let (status, _) = curl("PUT", put["url"].as_str().unwrap(), &headers_of(put), Some(&image));
    assert_eq!(status, 403, "an expired PUT URL is refused");

    // A download URL expires the same way.
    let id = app.upload_ok(&user, "c.png", image).await;
    let done = app
        .run_ok(&user, &json!({ "upload_id": id, "mode": "relief", "params": { "max_grid": 32 } }))
        .await;
    let task_id = done["id"].as_str().unwrap();
    let location = output_location(&app, &user, task_id).await;
    assert_eq!(curl("GET", &location, &[], None).0, 200, "fresh");
    assert_eq!(curl("GET", &tampered(&location), &[], None).0, 403, "tampered");
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_eq!(curl("GET", &location, &[], None).0, 403, "expired");
}

/// Where `GET /tasks/{task_id}/output` redirects `user` (asserting a 307).
async fn output_location(app: &TestApp, user: &reqwest::Client, task_id: &str) -> String {
    let (_, key) = app.api_client(user).await;
    let bearer = format!("Bearer {key}").parse().unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers([(reqwest::header::AUTHORIZATION, bearer)].into_iter().collect())
        .build()
        .unwrap();
    let response =
        no_redirects.get(app.url(&format!("/tasks/{task_id}/output"))).send().await.unwrap();
    assert_eq!(response.status(), 307);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn with_a_cdn_downloads_redirect_to_signed_expiring_cdn_links() {
    let Some((endpoint, bucket)) = s3() else { return };
    const BASE: &str = "https://cdn.lithos.test/zone";
    let app = TestApp::spawn_with(|c| {
        on_s3(&endpoint, &bucket)(c);
        c.url_ttl = Duration::from_secs(300);
        c.cdn_base_url = Some(BASE.to_owned());
        c.cdn_token_key = Some(lithos_server::config::Secret("zone-token-key".to_owned()));
    })
    .await;
    let user = app.user("cdn@example.org").await;
    let id = app.upload_ok(&user, "c.png", camera()).await;
    let done = app
        .run_ok(&user, &json!({ "upload_id": id, "mode": "relief", "params": { "max_grid": 32 } }))
        .await;
    let task_id = done["id"].as_str().unwrap();
    let before = lithos_server::now_ms() / 1000;
    let location = output_location(&app, &user, task_id).await;

    // `{base}/{key}?token=HS256-…&expires=…`, the key being the object the worker stored.
    let (url, query) = location.split_once('?').expect("a query");
    let key = url.strip_prefix(&format!("{BASE}/")).expect("on the CDN");
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert!(key.starts_with(&format!("users/{}/outputs/{task_id}-", me["id"].as_str().unwrap())));
    let store = store_at(&format!("s3://{bucket}"), &endpoint).await;
    let size = store.size(key).await.unwrap().expect("the CDN's origin holds the object");
    assert_eq!(size, 84 + 50 * done["result"]["triangles"].as_u64().unwrap());
    let params: std::collections::HashMap<_, _> =
        query.split('&').filter_map(|p| p.split_once('=')).collect();
    let expires: u64 = params["expires"].parse().unwrap();
    let lifetime = expires as i64 - before;
    assert!((299..=301).contains(&lifetime), "expires with url_ttl: {lifetime} s");
    // The edge's check: HMAC-SHA256 over the path (with the zone prefix) and the expiry.
    let path = format!("/zone/{key}");
    assert_eq!(params["token"], lithos_server::cdn::sign("zone-token-key", &path, expires));
    assert_ne!(params["token"], lithos_server::cdn::sign("another-key", &path, expires));

    // A CDN needs the bucket as its origin: on local disk the server refuses to start.
    let mut config = Config {
        cdn_base_url: Some(BASE.to_owned()),
        cdn_token_key: Some(lithos_server::config::Secret("k".to_owned())),
        ..Config::default()
    };
    assert!(config.validate().unwrap_err().contains("needs S3 storage"));
    config.storage = Some(format!("s3://{bucket}"));
    config.cdn_token_key = None;
    assert!(config.validate().unwrap_err().contains("cdn_token_key"));
}

#[tokio::test]
async fn an_output_of_200_mb_goes_up_in_parts_and_comes_back_whole() {
    let Some((endpoint, bucket)) = s3() else { return };
    let store = store_at(&format!("s3://{bucket}"), &endpoint).await;
    let store = std::sync::Arc::new(store);
    let key = format!("tests/big-{}.bin", lithos_server::new_id());
    const SIZE: usize = 200 << 20;
    let chunk =
        |i: usize| -> Vec<u8> { (0..1 << 20).map(|j| ((i * 31 + j * 7) % 251) as u8).collect() };
    let (size, parts, crc) = {
        let store = store.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut sink = store.sink(&key, "application/octet-stream").unwrap();
            let mut crc = crc32fast::Hasher::new();
            for i in 0..SIZE >> 20 {
                let bytes = chunk(i);
                crc.update(&bytes);
                sink.write_all(&bytes).unwrap();
            }
            let parts = sink.parts_sent();
            (sink.finish().unwrap(), parts, crc.finalize())
        })
        .await
        .unwrap()
    };
    assert_eq!(size, SIZE as u64);
    assert_eq!(parts, 12, "16 MiB parts went up while writing (the 13th, the tail, at finish)");
    assert_eq!(store.size(&key).await.unwrap(), Some(SIZE as u64));
    let back = store.get(&key).await.unwrap();
    assert_eq!(back.len(), SIZE);
    assert_eq!(crc32fast::hash(&back), crc, "the same bytes");
    store.delete(&key).await.unwrap();
    assert_eq!(store.size(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_permanent_storage_failure_fails_the_task_clearly_and_releases_its_credits() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(|c| {
        on_s3(&endpoint, &bucket)(c);
        c.workers = 0;
    })
    .await;
    let user = app.user("no-bucket@example.org").await;
    let before = app.credits(&user).await["balance"].as_i64().unwrap();
    let id = app.upload_ok(&user, "c.png", camera()).await;
    let task: Value = app
        .submit_ok(
            &user,
            &json!({ "upload_id": id, "mode": "relief", "params": { "max_grid": 32 } }),
        )
        .await;
    let task_id = task["id"].as_str().unwrap();
    // A worker pointed at a bucket that does not exist: retrying cannot help.
    let missing = format!("s3://lithos-missing-{}", &lithos_server::new_id()[..12]);
    let storage = store_at(&missing, &endpoint).await;
    let (pool, _) = worker_pool(&app, storage, Default::default(), 1).await;
    let done = app.wait(&user, task_id).await;
    pool.stop().await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(
        error.contains("the bucket does not exist") && error.contains("not charged"),
        "{error}"
    );
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"].as_i64().unwrap(), before, "credits released");
    assert_eq!(credits["entries"][0]["kind"], "release");
}

/// A TCP proxy in front of the S3 server that answers the first `failures` connections the
/// way S3 answers when it throttles (`503 Slow Down`), then passes every later one through
/// byte for byte, so signatures still verify. The store behind it is the real one.
struct FlakyProxy {
    endpoint: String,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FlakyProxy {
    async fn start(upstream: &str, failures: usize) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let refused = Arc::new(AtomicUsize::new(0));
        let counter = refused.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                // Only this loop counts, so a load and an add are enough.
                if counter.load(Ordering::SeqCst) >= failures {
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let mut server = tokio::net::TcpStream::connect(&upstream).await?;
                        tokio::io::copy_bidirectional(&mut client, &mut server).await
                    });
                    continue;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    // Read the request (its head, then as much body as it declares) so that
                    // the client reads the answer rather than a reset connection.
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 64 << 10];
                    let whole = |request: &[u8]| {
                        let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                            return false;
                        };
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        request.len() >= end + 4 + length
                    };
                    while !whole(&request) {
                        match tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer))
                            .await
                        {
                            Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buffer[..n]),
                            _ => break,
                        }
                    }
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                                <Message>Please reduce your request rate.</Message></Error>";
                    let answer = format!(
                        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    client.write_all(answer.as_bytes()).await?;
                    client.shutdown().await
                });
            }
        });
        Self { endpoint, refused }
    }

    fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Transient S3 faults: a few are ridden out inside one attempt by the SDK's retries; more
/// than those send the job back to the queue, whose retry then succeeds. Either way the task
/// succeeds once, its output is whole, and its credits are captured exactly once.
#[tokio::test]
async fn transient_storage_faults_are_retried_by_the_sdk_and_then_by_the_queue() {
    let Some((endpoint, bucket)) = s3() else { return };
    let app = TestApp::spawn_with(|c| {
        on_s3(&endpoint, &bucket)(c);
        c.workers = 0;
    })
    .await;
    let user = app.user("flaky@example.org").await;
    let id = app.upload_ok(&user, "c.png", camera()).await;
    let quick = lithos_server::tasks::queue::QueueConfig {
        retry_base: Duration::from_millis(50),
        ..Default::default()
    };
    // 2 refusals: within the SDK's 5 attempts; 5: the source read gives up and the queue retries.
    for (failures, attempt) in [(2, 1), (5, 2)] {
        let before = app.credits(&user).await["balance"].as_i64().unwrap();
        let proxy = FlakyProxy::start(&endpoint, failures).await;
        let task: Value = app
            .submit(
                &user,
                &json!({ "upload_id": id, "mode": "relief", "params": { "max_grid": 48 } }),
            )
            .await
            .json()
            .await
            .unwrap();
        let task_id = task["id"].as_str().unwrap();
        let cost = task["cost"].as_i64().unwrap();
        let (pool, _) = worker_pool(
            &app,
            store_at(&format!("s3://{bucket}"), &proxy.endpoint).await,
            quick.clone(),
            1,
        )
        .await;
        let done = app.wait(&user, task_id).await;
        pool.stop().await;
        assert_eq!(done["status"], "succeeded", "{failures} refusals: {done}");
        assert_eq!(proxy.refused(), failures, "every planned refusal happened");
        assert_eq!(done["result"]["attempt"], attempt, "{failures} refusals: {done}");
        let triangles = done["result"]["triangles"].as_u64().unwrap();
        // Read back from the store itself, not through the proxy.
        let location = output_location(&app, &user, task_id).await;
        let stl = reqwest::get(&location).await.unwrap().bytes().await.unwrap();
        assert_eq!(stl.len() as u64, 84 + 50 * triangles, "a whole STL");
        let credits = app.credits(&user).await;
        assert_eq!(credits["balance"].as_i64().unwrap(), before - cost, "charged once");
        let ledger = task_ledger(&credits, task_id);
        assert_eq!(ledger.iter().filter(|(kind, _)| kind == "capture").count(), 1, "{ledger:?}");
    }
}
