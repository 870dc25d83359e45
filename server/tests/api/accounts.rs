//! Accounts, sessions, API keys, authorization and CSRF.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp};

#[tokio::test]
async fn register_login_me_and_logout() {
    let app = TestApp::spawn().await;
    let browser = app.user("Ada@Example.org").await;
    let me: Value = browser.get(app.url("/me")).fetch_json().await;
    assert_eq!(me["email"], "Ada@Example.org");
    assert_eq!(me["credits"], 20, "the free grant");
    assert_eq!(me["plan"], "free");

    // Emails are unique case-insensitively.
    let again = app
        .browser()
        .post(app.url("/auth/register"))
        .json(&json!({ "email": "ada@example.ORG", "password": "another long one", "name": "X", "birth_date": "1990-05-17" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let other = app.browser();
    let wrong = other
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "ada@example.org", "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = other
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "ADA@example.org", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

    let out = other.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(other.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn profile_and_password_change_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let first = app.user("bo@example.org").await;
    let second = app.browser();
    second
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "bo@example.org", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let updated: Value = first
        .patch(app.url("/me"))
        .json(&json!({ "name": "Bo", "avatar_url": "https://example.org/bo.png" }))
        .fetch_json()
        .await;
    assert_eq!(updated["name"], "Bo");
    assert_eq!(updated["avatar_url"], "https://example.org/bo.png");
    let bad = first
        .patch(app.url("/me"))
        .json(&json!({ "avatar_url": "javascript:alert(1)" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let changed = first
        .post(app.url("/me/password"))
        .json(&json!({ "current_password": "correct horse battery", "new_password": "a brand new secret" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(first.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(second.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let browser = app.user("cy@example.org").await;
    let (client, key) = app.api_client(&browser).await;
    assert!(key.starts_with("lk_"));
    assert_eq!(client.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    let list: Value = browser.get(app.url("/api-keys")).fetch_json().await;
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].get("key").is_none(), "the key itself is never listed");
    assert!(keys[0]["last_used_at"].is_i64(), "last use recorded");
    let id = keys[0]["id"].as_str().unwrap();
    let revoked = browser.delete(app.url(&format!("/api-keys/{id}"))).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(client.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_writes_need_this_site_as_origin() {
    let app = TestApp::spawn().await;
    let browser = app.user("di@example.org").await;
    // The same cookie from another site (or no Origin at all) cannot write.
    let jar_only = reqwest::Client::builder().cookie_store(true).build().unwrap();
    jar_only
        .post(app.url("/auth/login"))
        .json(&json!({ "email": "di@example.org", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let forged = jar_only
        .post(app.url("/api-keys"))
        .header("origin", "https://evil.example")
        .json(&json!({ "name": "stolen" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let no_origin =
        jar_only.post(app.url("/api-keys")).json(&json!({ "name": "x" })).send().await.unwrap();
    assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);
    // Reads are fine, and so are writes from the site itself.
    assert_eq!(jar_only.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    let ok =
        browser.post(app.url("/api-keys")).json(&json!({ "name": "mine" })).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_with_retry_after() {
    let app = TestApp::spawn().await;
    app.user("ed@example.org").await;
    let client = app.browser();
    let mut limited = None;
    for _ in 0..30 {
        let response = client
            .post(app.url("/auth/login"))
            .json(&json!({ "email": "ed@example.org", "password": "wrong password!" }))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = limited.expect("repeated failures are limited");
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn bad_account_input_gets_json_errors_naming_the_field() {
    let app = TestApp::spawn().await;
    let client = app.browser();
    for (body, field) in [
        (
            json!({ "email": "not-an-email", "password": "long enough pw", "name": "A", "birth_date": "1990-05-17" }),
            "email",
        ),
        (
            json!({ "email": "a@example.org", "password": "short", "name": "A", "birth_date": "1990-05-17" }),
            "password",
        ),
        (
            json!({ "email": "a@example.org", "password": "long enough pw", "name": "", "birth_date": "1990-05-17" }),
            "name",
        ),
    ] {
        let response = client.post(app.url("/auth/register")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field);
    }
    let malformed = client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let error: Value = malformed.json().await.unwrap();
    assert_eq!(error["error"]["code"], "bad_request");
}

#[tokio::test]
async fn concurrent_writes_all_land() {
    // Every write takes the write gate (SQLite's one writer queues there, in order), so a burst
    // of mixed writes from one account all succeed, and nothing waits on itself.
    let app = TestApp::spawn().await;
    let user = app.user("burst@example.org").await;
    let writes = (0..24).map(|i| {
        let user = user.clone();
        let (keys, me) = (app.url("/api-keys"), app.url("/me"));
        async move {
            let response = if i % 2 == 0 {
                user.post(keys).json(&json!({ "name": format!("key {i}") })).send().await
            } else {
                user.patch(me).json(&json!({ "name": format!("Name {i}") })).send().await
            };
            response.unwrap().status()
        }
    });
    let statuses = futures_util::future::join_all(writes).await;
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");
    let keys: Value = user.get(app.url("/api-keys")).fetch_json().await;
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(12), "{keys}");
    let me: Value = user.get(app.url("/me")).fetch_json().await;
    assert!(me["name"].as_str().unwrap().starts_with("Name "));
}
