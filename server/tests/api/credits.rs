//! Credits: concurrent submissions never overspend, refusals are 402, cancellation releases.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

#[tokio::test]
async fn twenty_concurrent_submissions_against_ten_credits() {
    // One worker and a slow-to-start queue do not matter: credits are reserved at submission.
    let app = TestApp::spawn_with(|c| c.free_credits = 10).await;
    let user = app.user("rush@example.org").await;
    let (client, _) = app.api_client(&user).await;
    let upload = app.upload_ok(&client, "a.png", png(32)).await;
    let body = json!({ "upload_id": upload, "mode": "relief" });
    let submissions = (0..20).map(|_| {
        let client = client.clone();
        let url = app.url("/tasks");
        let body = body.clone();
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
    });
    let mut statuses = Vec::new();
    for s in submissions {
        statuses.push(s.await.unwrap());
    }
    let accepted = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::PAYMENT_REQUIRED).count();
    assert_eq!((accepted, refused), (10, 10), "{statuses:?}");
    let credits = app.credits(&client).await;
    assert_eq!(credits["balance"], 0);
    let sum: i64 =
        credits["entries"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 0, "the ledger sums to the balance");

    let refused = app.submit(&client, &body).await;
    assert_eq!(refused.status(), StatusCode::PAYMENT_REQUIRED);
    let error: Value = refused.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("balance is 0"), "{error}");
}

#[tokio::test]
async fn canceling_a_queued_task_releases_its_credits() {
    // No worker picks tasks up quickly enough to matter: stop the pool by giving it nothing
    // to claim until the cancel has landed is not possible, so cancel a task whose upload is
    // large enough to be queued behind another.
    let app = TestApp::spawn_with(|c| c.free_credits = 50).await;
    let user = app.user("cancel@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(64)).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let task: Value = app
            .submit(
                &user,
                &json!({ "upload_id": upload, "mode": "relief", "params": { "grid": 1500 } }),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let last = ids.last().unwrap();
    let canceled: Value = user.post(app.url(&format!("/tasks/{last}/cancel"))).fetch_json().await;
    assert_eq!(canceled["status"], "canceled", "{canceled}");
    for id in &ids[..3] {
        let done = app.wait(&user, id).await;
        assert!(matches!(done["status"].as_str(), Some("succeeded" | "canceled")), "{done}");
    }
    let credits = app.credits(&user).await;
    let entries = credits["entries"].as_array().unwrap();
    let released: i64 = entries
        .iter()
        .filter(|e| e["task_id"] == last.as_str() && e["kind"] == "release")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    let reserved: i64 = entries
        .iter()
        .filter(|e| e["task_id"] == last.as_str() && e["kind"] == "reserve")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(released, -reserved, "released exactly what was reserved");
    let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    assert_eq!(credits["balance"], sum);
}
