//! Server-sent events and admin-only routes. (Probes and metrics have their own test binary,
//! `tests/metrics.rs`: the metrics recorder is process-wide.)

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

#[tokio::test]
async fn events_stream_status_until_the_task_ends() {
    let app = TestApp::spawn().await;
    let user = app.user("sse@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    let task: Value = app.submit_ok(&user, &json!({ "upload_id": upload, "mode": "relief" })).await;
    let id = task["id"].as_str().unwrap();
    let response = user.get(app.url(&format!("/tasks/{id}/events"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = String::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        body.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(!events.is_empty());
    assert_eq!(events.last().unwrap()["status"], "succeeded", "the stream ends with the outcome");
    let progress: Vec<f64> = events.iter().map(|e| e["progress"].as_f64().unwrap()).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {progress:?}");

    let stranger = app.user("other@example.org").await;
    let theirs = stranger.get(app.url(&format!("/tasks/{id}/events"))).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_routes_refuse_users_and_serve_admins() {
    let app = TestApp::spawn().await;
    let user = app.user("plain@example.org").await;
    // Every admin operation the document lists, with any body: 403 before anything else is
    // read (a missing id or a bad body would otherwise answer 404 or 422).
    let doc: Value = reqwest::get(app.url("/openapi.json")).await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let Some(rest) = path.strip_prefix("/api/v1/admin") else { continue };
        let url = app.url(&format!("/admin{}", rest.replace("{id}", "no-such-id")));
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = user.request(method.clone(), &url).json(&json!({})).send().await;
            assert_eq!(response.unwrap().status(), StatusCode::FORBIDDEN, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "the document lists the admin routes ({checked} checked)");
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    lithos_server::admin::create_user(
        &db,
        "root@example.org",
        "Root",
        "correct horse battery",
        true,
        0,
    )
    .await
    .unwrap();
    let admin = app.browser();
    admin
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "root@example.org", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let users: Value = admin.get(app.url("/admin/users")).fetch_json().await;
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    // The in-process pool registered itself: this host and process, live.
    let registry: Value = admin.get(app.url("/admin/workers")).fetch_json().await;
    let worker = &registry["workers"][0];
    assert_eq!(registry["workers"].as_array().unwrap().len(), 1, "{registry}");
    assert_eq!(worker["pid"], std::process::id());
    assert_eq!((worker["kind"].as_str(), worker["backend"].as_str()), (Some("serve"), Some("cpu")));
    assert_eq!(worker["live"], true);
    assert_eq!(registry["queue"], json!({ "queued": 0, "running": 0 }));
    let balance =
        lithos_server::admin::grant(&db, "PLAIN@example.org", 5, "support ticket 7").await.unwrap();
    assert_eq!(balance, 25);
    let credits = app.credits(&user).await;
    assert_eq!(credits["entries"][0]["reason"], "support ticket 7");
    let overdraw = lithos_server::admin::grant(&db, "plain@example.org", -26, "too much").await;
    assert!(overdraw.is_err(), "a balance never goes negative");
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_the_docs_page_serves_it() {
    let app = TestApp::spawn().await;
    let spec: Value = reqwest::get(app.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    // The route table registers each handler with its operation, so what is documented is
    // what is served: every operation answers (never the router's 404), and every one but the
    // public few says how to sign in and refuses a request that does not.
    let public = [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/healthz",
        "/readyz",
        "/api/v1/billing/catalog",
        "/api/v1/billing/creem/webhook",
        "/api/v1/support/contact",
        "/api/v1/auth/verify",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/providers",
        "/api/v1/auth/providers/join",
    ];
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let url = format!("{}{}", app.base, path.replace("{id}", "0123456789abcdef"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = reqwest::Client::new()
                .request(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["error"]["message"].as_str().map(|m| m.starts_with("nothing is at")),
                Some(true),
                "{method} {path} is documented but not served"
            );
            if public.contains(&path.as_str()) {
                assert!(operation.get("security").is_none(), "{path} is public");
            } else {
                let schemes: Vec<&str> = operation["security"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{method} {path} has no security requirement"))
                    .iter()
                    .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
                    .collect();
                assert_eq!(schemes, ["session", "bearer"], "{method} {path}");
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a key");
                let documented = operation["responses"].as_object().unwrap();
                assert!(documented.contains_key("401"), "{method} {path} documents its 401");
            }
            // Every JSON response names its schema, which schemathesis checks responses against.
            for (code, response) in operation["responses"].as_object().unwrap() {
                let Some(schema) = response["content"]["application/json"].get("schema") else {
                    continue;
                };
                assert!(
                    schema.get("$ref").is_some(),
                    "{method} {path} answers {code} with an untyped body: {schema}"
                );
            }
        }
    }
    assert!(operations >= 35, "{operations} operations");
    let params = &spec["components"]["schemas"]["JobRequest"]["properties"];
    for field in ["width_mm", "base_mm", "relief_mm", "min_mm", "max_mm", "depth_mm", "bevel_mm"] {
        assert!(params.get(field).is_some(), "JobRequest documents {field}");
    }
    let docs = reqwest::get(format!("{}/api/docs", app.base)).await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("<html"), "an HTML page");
}
