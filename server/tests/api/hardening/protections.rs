//! The protections a web service is expected to have: headers, cross-site checks, the
//! metrics guard, clean names, one error envelope, and the overdraw message.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::error_of;
use crate::helpers::{FetchJson, TestApp, png};

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
            &json!({ "email": "p@example.org", "password": "correct horse battery", "name": "P", "birth_date": "1990-05-17" }),
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
        .json(&json!({ "email": "rlo@example.org", "password": "correct horse battery", "name": "evil\u{202E}gnp.exe", "birth_date": "1990-05-17" }))
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
        (user.put(app.url("/me")), StatusCode::METHOD_NOT_ALLOWED, None),
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
