//! Logins and password changes: limits on the normalised address, and timing that does not
//! tell whether an account exists.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use super::error_of;
use crate::helpers::TestApp;

#[tokio::test]
async fn padding_an_email_buys_no_fresh_login_budget() {
    let app = TestApp::spawn().await;
    // The account's 10 attempts a minute, in fixed windows: every one in the same window.
    crate::helpers::inside_one_window(crate::helpers::MINUTE_MS).await;
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
    crate::helpers::inside_one_window(crate::helpers::MINUTE_MS).await;
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
