//! Support requests: a user files one about a task, an administrator finds it in the inbox
//! with the user's context and replies, and the user sees the reply; nobody else sees it.
//! Visitors write with an email address, limited per address.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

#[tokio::test]
async fn a_request_is_answered_in_the_inbox_and_the_user_sees_the_reply() {
    let app = TestApp::spawn().await;
    let user = app.user("asker@example.org").await;
    let upload = app.upload_ok(&user, "a.png", png(16)).await;
    let task = app
        .run_ok(
            &user,
            &json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 16 } }),
        )
        .await;
    let task_id = task["id"].as_str().unwrap();
    let invalid = user
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "refunds", "subject": "x", "message": "y" }))
        .send()
        .await
        .unwrap();
    assert!(invalid.status().is_client_error(), "an unknown category is refused");
    let blank = user
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "general", "subject": " ", "message": "y" }))
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let filed = user
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "billing", "subject": "Charged twice?", "message": "My balance looks low.\nCould you check?", "task_id": task_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), StatusCode::CREATED);
    let filed: Value = filed.json().await.unwrap();
    let id = filed["id"].as_str().unwrap();
    assert_eq!(filed["state"], "open");
    assert_eq!(filed["messages"][0]["body"], "My balance looks low.\nCould you check?");

    let other = app.user("nosy@example.org").await;
    assert_eq!(
        other.get(app.url(&format!("/support/requests/{id}"))).send().await.unwrap().status(),
        404
    );
    let someone_elses_task = other
        .post(app.url("/support/requests"))
        .json(&json!({ "category": "general", "subject": "s", "message": "m", "task_id": task_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(someone_elses_task.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let admin = app.admin("ops@example.org").await;
    let inbox: Value =
        admin.get(app.url("/admin/support?state=open&category=billing")).fetch_json().await;
    assert_eq!(inbox["requests"].as_array().unwrap().len(), 1);
    let none: Value = admin.get(app.url("/admin/support?category=abuse")).fetch_json().await;
    assert!(none["requests"].as_array().unwrap().is_empty());
    let opened: Value = admin.get(app.url(&format!("/admin/support/{id}"))).fetch_json().await;
    assert_eq!(opened["requester"]["email"], "asker@example.org");
    assert_eq!(opened["requester"]["credits"], 19);
    assert_eq!(opened["requester"]["recent_tasks"][0]["id"], task_id);
    let replied: Value = admin
        .post(app.url(&format!("/admin/support/{id}/reply")))
        .json(&json!({ "message": "One task, one credit: all is well." }))
        .fetch_json()
        .await;
    assert_eq!(replied["request"]["state"], "answered");

    let seen: Value = user.get(app.url(&format!("/support/requests/{id}"))).fetch_json().await;
    assert_eq!(seen["messages"][1]["author"], "support");
    assert_eq!(seen["messages"][1]["body"], "One task, one credit: all is well.");
    let list: Value = user.get(app.url("/support/requests")).fetch_json().await;
    assert_eq!(list["requests"][0]["state"], "answered");
    let followed: Value = user
        .post(app.url(&format!("/support/requests/{id}/messages")))
        .json(&json!({ "message": "Thanks!" }))
        .fetch_json()
        .await;
    assert_eq!(followed["state"], "open", "a follow-up reopens it");
    let closed: Value = admin
        .post(app.url(&format!("/admin/support/{id}/state")))
        .json(&json!({ "state": "closed" }))
        .fetch_json()
        .await;
    assert_eq!(closed["request"]["state"], "closed");
    assert_eq!(
        user.post(app.url(&format!("/admin/support/{id}/state")))
            .json(&json!({ "state": "open" }))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn visitors_write_with_an_email_and_are_limited_per_address() {
    let app = TestApp::spawn().await;
    let visitor = reqwest::Client::new();
    let send = |email: &str| {
        visitor
            .post(app.url("/support/contact"))
            .json(&json!({ "email": email, "category": "abuse", "subject": "Stolen artwork", "message": "A model copies my logo." }))
            .send()
    };
    assert_eq!(send("not an email").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    crate::helpers::inside_one_window(crate::helpers::MINUTE_MS).await;
    let first = send("artist@example.org").await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let id = first.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let mut limited = false;
    for _ in 0..3 {
        limited |=
            send("artist@example.org").await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "a burst from one address is limited");
    let admin = app.admin("ops@example.org").await;
    let opened: Value = admin.get(app.url(&format!("/admin/support/{id}"))).fetch_json().await;
    assert_eq!(opened["request"]["email"], "artist@example.org");
    assert_eq!(opened["request"]["category"], "abuse");
    assert!(opened["requester"].is_null());
}
