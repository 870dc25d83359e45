//! The hardening issue's probe, kept as tests: each case an attacker tried against a live
//! server, over HTTP (and raw sockets for the slow clients), on SQLite and PostgreSQL alike.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{FetchJson, TestApp, png};

/// A 60x60 grey PNG, black except a 4x4 white block: the probe's image.
fn speck() -> Vec<u8> {
    let image = image::GrayImage::from_fn(60, 60, |x, y| {
        image::Luma([if x < 4 && y < 4 { 255 } else { 0 }])
    });
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    bytes
}

/// A PNG that declares `side` x `side` RGBA pixels, all zero: a few hundred kilobytes that
/// decode to `side² × 4` bytes.
fn png_bomb(side: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, side, side);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_compression(png::Compression::Fast);
    {
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; side as usize * 4];
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    bytes
}

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: not the JSON envelope: {text:?}"));
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    (status, body)
}

#[tokio::test]
async fn vanishing_lengths_and_unbounded_work_are_refused_before_any_credit_moves() {
    let app = TestApp::spawn().await;
    let user = app.user("probe@example.org").await;
    let upload = app.upload_ok(&user, "speck.png", speck()).await;
    let before = app.credits(&user).await;
    let cases = [
        // The probe's request: 2^52 layers, whose voxel count wrapped to 16,384 (cost 1).
        (
            json!({ "depth_mm": 1, "pixel_mm": 2.220446049250313e-16, "bevel_mm": 0 }),
            "solid",
            "pixel_mm",
        ),
        (json!({ "width_mm": 1e-40 }), "relief", "width_mm"),
        (json!({ "pixel_mm": 1e-40 }), "relief", "pixel_mm"),
        (json!({ "pixel_mm": 0 }), "relief", "pixel_mm"),
        (json!({ "base_mm": 5e-324 }), "relief", "base_mm"),
        (json!({ "depth_mm": -1 }), "solid", "depth_mm"),
        (json!({ "bevel_mm": 1e-40 }), "solid", "bevel_mm"),
        (json!({ "pixel_mm": 1e300 }), "relief", "pixel_mm"),
        // Lengths that are each fine, but whose work is not: 4e9 voxels.
        (json!({ "pixel_mm": 0.001, "depth_mm": 1000 }), "solid", "params"),
        // A 10 m model.
        (json!({ "pixel_mm": 1000, "grid": 60 }), "relief", "pixel_mm"),
    ];
    for (params, mode, field) in cases {
        let body = json!({ "upload_id": upload, "mode": mode, "params": params });
        for route in ["/tasks", "/tasks/quote"] {
            let response = user.post(app.url(route)).json(&body).send().await.unwrap();
            let (status, error) = error_of(response).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{params} on {route}: {error}");
            assert_eq!(error["error"]["field"], field, "{params}: {error}");
            let message = error["error"]["message"].as_str().unwrap();
            assert!(!message.contains("--"), "API messages name fields, not flags: {message}");
        }
    }
    let after = app.credits(&user).await;
    assert_eq!(after["balance"], before["balance"], "not a credit moved");
    assert_eq!(after["entries"].as_array().unwrap().len(), 1, "only the welcome grant: {after}");
    let tasks: Value = user.get(app.url("/tasks")).fetch_json().await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 0, "no task was made");
}

#[tokio::test]
async fn a_task_past_its_time_limit_is_stopped_its_credits_released_and_its_worker_freed() {
    let limit = Duration::from_millis(300);
    let app = TestApp::spawn_with(|c| {
        c.plan_time_limits.insert("free".into(), limit);
    })
    .await;
    let user = app.user("slow@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(64)).await;
    let start = app.credits(&user).await["balance"].as_i64().unwrap();
    // 4096 x 4096 grid points from a 64-pixel image: 33 million triangles, seconds of work.
    let big = json!({ "upload_id": upload, "mode": "relief", "params": { "grid": 4096 } });
    let response = app.submit(&user, &big).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let task: Value = response.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert!(task["cost"].as_i64().unwrap() >= 16, "{task}");
    let done = app.wait(&user, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("time limit of 0.3 s") && error.contains("released"), "{error}");
    let ran_ms = done["finished_at"].as_i64().unwrap() - done["started_at"].as_i64().unwrap();
    eprintln!("watchdog: stopped {} ms after the limit", ran_ms - limit.as_millis() as i64);
    let credits = app.credits(&user).await;
    assert_eq!(credits["balance"].as_i64().unwrap(), start, "every credit came back");
    let ledger = crate::helpers::task_ledger(&credits, id);
    let cost = task["cost"].as_i64().unwrap();
    assert_eq!(ledger, [("reserve".to_owned(), -cost), ("release".to_owned(), cost)]);
    // The worker is free again: a small task runs to the end.
    let small = json!({ "upload_id": upload, "mode": "relief", "params": { "width_mm": 20 } });
    app.run_ok(&user, &small).await;
}

#[tokio::test]
async fn padding_an_email_buys_no_fresh_login_budget() {
    let app = TestApp::spawn().await;
    app.user("pad@example.org").await;
    let client = reqwest::Client::new();
    let variants = [
        " pad@example.org",
        "pad@example.org ",
        "\tpad@example.org",
        "PAD@example.org",
        "pad@Example.ORG",
    ];
    // Registering took one of the account's 10 attempts a minute; each spelling takes another.
    for i in 0..9 {
        let email = variants[i % variants.len()];
        let response = client
            .post(app.url("/auth/login"))
            .json(&json!({ "email": email, "password": format!("wrong guess {i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {i} ({email:?})");
    }
    for email in ["  pad@example.org\t", "Pad@Example.org"] {
        let response = client
            .post(app.url("/auth/login"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{email:?} shares the budget");
        assert!(response.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    app.user("known@example.org").await;
    let client = reqwest::Client::new();
    let timed = |email: String| {
        let client = client.clone();
        let url = app.url("/auth/login");
        async move {
            let start = Instant::now();
            let response = client
                .post(url)
                .json(&json!({ "email": email, "password": "not the password" }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            start.elapsed()
        }
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..5 {
        known.push(timed("known@example.org".into()).await);
        unknown.push(timed(format!("nobody{i}@example.org")).await);
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[2], unknown[2]);
    // Both verify an argon2id hash; before the fix an unknown email answered 20x sooner.
    assert!(unknown * 2 > known, "unknown {unknown:?} against known {known:?}");
}

#[tokio::test]
async fn guessing_the_current_password_is_rate_limited() {
    let app = TestApp::spawn().await;
    let user = app.user("guess@example.org").await;
    for i in 0..10 {
        let response = user
            .post(app.url("/me/password"))
            .json(&json!({ "current_password": format!("guess {i}"), "new_password": "another long one" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "guess {i}");
    }
    let response = user
        .post(app.url("/me/password"))
        .json(&json!({ "current_password": "correct horse battery", "new_password": "another long one" }))
        .send()
        .await
        .unwrap();
    let (status, _) = error_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn decodes_wait_for_the_memory_budget_and_png_bombs_are_checked_row_by_row() {
    let app = TestApp::spawn_with(|c| {
        c.decode_budget_bytes = 64 << 20;
        c.decode_wait = Duration::from_millis(200);
    })
    .await;
    let user = app.user("bomb@example.org").await;
    let budget = app.running.as_ref().unwrap().decode_budget.clone();
    // Hold all but 1 MiB of the budget, as concurrent decodes would.
    let held = budget.try_reserve(63 << 20, Duration::ZERO).await.unwrap();
    // 4096 x 4096 RGBA (64 MiB decoded) in a few hundred kilobytes: checked in rows, it
    // needs far less than the 1 MiB left, and is stored.
    let bomb = png_bomb(4096);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let response = app.upload(&user, "bomb.png", bomb).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    // A JPEG must be decoded whole (12 MB here): it waits, then gets 503 with Retry-After.
    let photo = image::RgbImage::from_fn(2000, 2000, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut jpeg = Vec::new();
    photo.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    let response = app.upload(&user, "photo.jpg", jpeg.clone()).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"]["code"], "busy");
    drop(held);
    let response = app.upload(&user, "photo.jpg", jpeg).await;
    assert_eq!(response.status(), StatusCode::CREATED, "with the budget free it is stored");
}

/// Opens a raw connection to the app.
async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection or `limit` passes; returns what came and
/// when the connection closed (`None`: still open at the limit).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&got).into_owned(), Some(start.elapsed()));
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

#[tokio::test]
async fn slow_headers_are_cut_off_at_the_header_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    // Half a request, then silence.
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // A header every 300 ms, for as long as the server listens.
    let mut trickle = connect(&app).await;
    let dripping = tokio::spawn(async move {
        trickle.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        let start = Instant::now();
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if trickle.write_all(format!("X-Drip-{i}: {i}\r\n").as_bytes()).await.is_err() {
                return Some(start.elapsed());
            }
        }
        None
    });
    // Nothing at all.
    let mut silent = connect(&app).await;
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(5)).await;
    let closed = closed.expect("half a header is not held open");
    assert!(closed < Duration::from_secs(3), "closed after {closed:?}");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a silent connection is not held open");
    let cut = dripping.await.unwrap().expect("a dripping client is cut off");
    assert!(cut < Duration::from_secs(4), "cut after {cut:?}");
    // The server still serves everyone else.
    let ok = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_upload_body_below_the_minimum_rate_gets_408() {
    let app = TestApp::spawn_with(|c| {
        c.connections.body_rate_window = Duration::from_secs(1);
        c.connections.body_min_bytes_per_second = 1024;
    })
    .await;
    let browser = app.user("drip@example.org").await;
    let (_, key) = app.api_client(&browser).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n\
         --XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let drip = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(&[0u8; 10]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), reader.read_to_end(&mut got)).await;
    let elapsed = start.elapsed();
    drip.abort();
    assert!(read.is_ok(), "the server ended the request within 6 s");
    let response = String::from_utf8_lossy(&got);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"too_slow\""), "{response}");
    assert!(elapsed < Duration::from_secs(4), "after {elapsed:?}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_with(|c| {
        c.connections.max_connections = 2;
        c.connections.header_read_timeout = Duration::from_millis(1500);
    })
    .await;
    let _idle = [connect(&app).await, connect(&app).await];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&app).await;
    let start = Instant::now();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (early, _) = read_until_closed(&mut third, Duration::from_millis(700)).await;
    assert!(early.is_empty(), "served while both slots were held: {early}");
    // The idle two are closed at the header timeout; then the third is served.
    let (response, _) = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    assert!(start.elapsed() >= Duration::from_millis(1000), "{:?}", start.elapsed());
}

#[tokio::test]
async fn a_user_may_have_only_so_many_uploads_in_progress() {
    let app = TestApp::spawn_with(|c| c.uploads_per_user = 1).await;
    let browser = app.user("many@example.org").await;
    let (api, key) = app.api_client(&browser).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 5000\r\n\r\n--XX\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app.upload(&api, "b.png", png(16)).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.upload_ok(&api, "b.png", png(16)).await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for path in
        ["/", "/healthz", "/api/v1/me", "/api/v1/openapi.json", "/nowhere", "/assets/app.js"]
    {
        let response = client.get(format!("{}{path}", app.base)).send().await.unwrap();
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(!h.contains_key("strict-transport-security"), "{path}: plain http");
    }
    // The app's page allows its import map by hash and nothing else inline.
    let page = client.get(format!("{}/", app.base)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("'sha256-"), "{csp}");
    let secure = TestApp::spawn_with(|c| {
        c.public_url = Some("https://lithos.example".into());
        c.secure_cookies = true;
    })
    .await;
    let response = client.get(format!("{}/healthz", secure.base)).send().await.unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test]
async fn cross_site_checks_compare_with_the_public_url_not_the_host_header() {
    let app = TestApp::spawn().await;
    let browser = app.user("csrf@example.org").await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let attempts = [
        // The right host and port with the wrong scheme.
        (format!("https://127.0.0.1:{port}"), None),
        // A spoofed Host header that matches the attacker's Origin.
        ("http://evil.example".to_owned(), Some("evil.example")),
        (format!("http://127.0.0.1:{port}.evil.example"), None),
        ("null".to_owned(), None),
    ];
    for (origin, host) in attempts {
        let mut request = browser.post(app.url("/api-keys")).header("origin", &origin);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let response = request.json(&json!({ "name": "stolen" })).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    let own = browser.post(app.url("/api-keys")).json(&json!({ "name": "mine" })).send().await;
    assert_eq!(own.unwrap().status(), StatusCode::CREATED);
    // Behind a proxy: the public URL's origin counts, whatever Host the proxy sends.
    let proxied =
        TestApp::spawn_with(|c| c.public_url = Some("https://lithos.example".into())).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let register = client
        .post(proxied.url("/auth/register"))
        .json(
            &json!({ "email": "p@example.org", "password": "correct horse battery", "name": "P" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::CREATED);
    for (origin, expected) in [
        ("https://lithos.example", StatusCode::CREATED),
        (proxied.base.as_str(), StatusCode::FORBIDDEN),
        ("http://lithos.example", StatusCode::FORBIDDEN),
    ] {
        let response = client
            .post(proxied.url("/api-keys"))
            .header("origin", origin)
            .json(&json!({ "name": "k" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{origin}");
    }
}

#[tokio::test]
async fn metrics_take_a_token_or_their_own_address() {
    let app = TestApp::spawn_with(|c| {
        c.metrics_token = Some(lithos_server::config::Secret("scrape-me".into()));
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", app.base);
    let (status, _) = error_of(client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = client.get(&url).bearer_auth("scrape-you").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client.get(&url).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("lithos_"));

    let separate =
        TestApp::spawn_with(|c| c.metrics_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics_addr = separate.running.as_ref().unwrap().metrics_addr.unwrap();
    let main = client.get(format!("{}/metrics", separate.base)).send().await.unwrap();
    assert_eq!(main.status(), StatusCode::NOT_FOUND, "not on the public listener");
    let own = client.get(format!("http://{metrics_addr}/metrics")).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test]
async fn names_refuse_control_and_bidirectional_characters() {
    let app = TestApp::spawn().await;
    let client = app.browser();
    let response = client
        .post(app.url("/auth/register"))
        .json(&json!({ "email": "rlo@example.org", "password": "correct horse battery", "name": "evil\u{202E}gnp.exe" }))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let user = app.user("names@example.org").await;
    for (route, body, field) in [
        ("/me", json!({ "name": "Ann\u{0007}" }), "name"),
        ("/me", json!({ "name": "Ann\u{2067}" }), "name"),
        ("/api-keys", json!({ "name": "key\u{202D}" }), "name"),
    ] {
        let request =
            if route == "/me" { user.patch(app.url(route)) } else { user.post(app.url(route)) };
        let (status, error) = error_of(request.json(&body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    let (status, error) = error_of(app.upload(&user, "photo\u{202E}gnp.exe", png(8)).await).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filename"))
    );
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["name"], "Tester", "nothing was changed");
}

#[tokio::test]
async fn every_error_is_the_json_envelope_with_the_right_status() {
    let app = TestApp::spawn().await;
    let user = app.user("envelope@example.org").await;
    let upload = app.upload_ok(&user, "ramp.png", png(16)).await;
    let long = "x".repeat(10_000);
    let big =
        json!({ "upload_id": upload, "mode": "relief", "params": {}, "pad": "y".repeat(3 << 20) });
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, Option<&str>)> = vec![
        (user.get(app.url("/tasks?limit=many")), StatusCode::BAD_REQUEST, None),
        (
            user.post(app.url("/uploads")).header("content-type", "multipart/form-data").body("x"),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (user.get(app.url("/no-such-route")), StatusCode::NOT_FOUND, None),
        (user.get(format!("{}/no/such/page", app.base)), StatusCode::NOT_FOUND, None),
        (user.get(format!("{}/assets/missing.js", app.base)), StatusCode::NOT_FOUND, None),
        (user.delete(app.url("/me")), StatusCode::METHOD_NOT_ALLOWED, None),
        (user.get(app.url(&format!("/tasks?cursor={long}"))), StatusCode::URI_TOO_LONG, None),
        (user.post(app.url("/tasks")).json(&big), StatusCode::PAYLOAD_TOO_LARGE, None),
        (
            user.patch(app.url("/me")).json(&json!({ "nick": "x" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("nick"),
        ),
        (
            user.post(app.url("/tasks"))
                .json(&json!({ "upload_id": upload, "mode": "relief", "nick": 1 })),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("nick"),
        ),
        (
            user.post(app.url("/me/password")).body("{not json"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            user.post(app.url("/me/password"))
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            None,
        ),
    ];
    for (request, expected, field) in cases {
        let request = request.build().unwrap();
        let what = format!(
            "{} {}",
            request.method(),
            &request.url().as_str()[..request.url().as_str().len().min(80)]
        );
        let response = user.execute(request).await.unwrap();
        let allow = response.headers().get("allow").cloned();
        let (status, error) = error_of(response).await;
        assert_eq!(status, expected, "{what}: {error}");
        if let Some(field) = field {
            assert_eq!(error["error"]["field"], field, "{what}: {error}");
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(allow.is_some(), "405 says what is allowed");
        }
    }
}

#[tokio::test]
async fn an_overdrawing_adjustment_has_its_own_message() {
    let app = TestApp::spawn().await;
    let admin = app.admin("ops@example.org").await;
    let user = app.user("over@example.org").await;
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    let id = me["id"].as_str().unwrap();
    let balance = me["credits"].as_i64().unwrap();
    let response = admin
        .post(app.url(&format!("/admin/users/{id}/credits")))
        .json(&json!({ "amount": -(balance + 5), "reason": "chargeback" }))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(!message.contains("task"), "{message}");
    assert!(
        message.contains(&format!("it is {balance}")) && message.contains("below zero"),
        "{message}"
    );
}
