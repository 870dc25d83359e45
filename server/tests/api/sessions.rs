//! Sessions on the account page: each with its address and browser, any one ended, every one
//! but the current ended; addresses and browsers cleared after `client_info_days`, expired
//! sessions deleted by the sweep.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp};

/// A browser with its own cookies, Origin and `User-Agent`, signed in as `email`.
async fn browser_as(app: &TestApp, email: &str, agent: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", app.base.parse().unwrap());
    let client = Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .user_agent(agent)
        .build()
        .unwrap();
    let signed_in = client
        .post(app.url("/auth/login"))
        .json(&json!({ "email": email, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    client
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const PHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn the_account_lists_its_sessions_and_ends_any_one() {
    let app = TestApp::spawn().await;
    app.user("sessions@example.org").await;
    let laptop = browser_as(&app, "sessions@example.org", FIREFOX).await;
    let phone = browser_as(&app, "sessions@example.org", PHONE).await;
    let listed: Value = laptop.get(app.url("/me/sessions")).fetch_json().await;
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "sign-up's, the laptop's and the phone's: {listed}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], FIREFOX);
    assert_eq!(current[0]["ip"], "127.0.0.1");
    let phone_id = sessions.iter().find(|s| s["user_agent"] == PHONE).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone else cannot end it; the owner can.
    let other = app.user("other@example.org").await;
    let refused = other.delete(app.url(&format!("/me/sessions/{phone_id}"))).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(phone.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    let ended = laptop.delete(app.url(&format!("/me/sessions/{phone_id}"))).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::OK);
    assert_eq!(phone.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Every other one.
    let tablet = browser_as(&app, "sessions@example.org", "Tablet/1.0").await;
    let done = laptop.post(app.url("/me/sessions/revoke-others")).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(tablet.get(app.url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let listed: Value = laptop.get(app.url("/me/sessions")).fetch_json().await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn the_sweep_clears_old_addresses_and_deletes_expired_sessions() {
    let app = TestApp::spawn().await;
    app.user("swept@example.org").await;
    let old = browser_as(&app, "swept@example.org", FIREFOX).await;
    let fresh = browser_as(&app, "swept@example.org", PHONE).await;
    let db = app.running.as_ref().unwrap().db.clone();
    let day = 86_400_000_i64;
    let now = lithos_server::now_ms();
    // The Firefox session was last seen 100 days ago (as if: its expiry moved on with it).
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE user_agent = $2")
        .bind(now - 100 * day)
        .bind(FIREFOX)
        .execute(&db.pool)
        .await
        .unwrap();
    // Sign-up's session has expired.
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE user_agent IS NULL")
        .bind(now - 1)
        .execute(&db.pool)
        .await
        .unwrap();
    app.sweep(now).await;
    let rows: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT ip, user_agent FROM sessions ORDER BY COALESCE(user_agent, '')")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "the expired session is gone: {rows:?}");
    assert!(rows.contains(&(None, None)), "the old one keeps no address or browser: {rows:?}");
    assert!(rows.contains(&(Some("127.0.0.1".into()), Some(PHONE.into()))), "{rows:?}");
    // Both still sign in: clearing the address ends nothing.
    for client in [&old, &fresh] {
        assert_eq!(client.get(app.url("/me")).send().await.unwrap().status(), StatusCode::OK);
    }
}
