//! Billing through the Creem stand-in (`tests/creem/standin.py`): checkouts paid on its hosted
//! page, its signed redirects and webhooks, its retries after an outage, reconciliation of
//! what it never delivered, and its signatures against Creem's published vectors.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::{SECRET, balance};
use crate::helpers::{FetchJson, Standin, TestApp};

#[test]
fn the_stand_in_signs_as_creem_s_published_vectors_say() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/creem/standin.py");
    let run = std::process::Command::new("python3").args([script, "--self-test"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

const API_KEY: &str = "creem_test_key_lithos";

/// The Creem stand-in (`tests/creem/standin.py`) on a free port; killed when dropped.
fn standin() -> Standin {
    Standin::start(
        "tests/creem/standin.py",
        &[
            "--api-key",
            API_KEY,
            "--webhook-secret",
            SECRET,
            "--product",
            "prod_pack100:onetime:900",
            "--product",
            "prod_pro:recurring:1900",
            "--retry-seconds",
            "0.3,0.6,1.2,2.4",
        ],
    )
}

/// Lithos' billing settings against the stand-in: its API, its key, and a pack and a plan.
fn settings(creem: &Standin) -> lithos_server::config::BillingLayer {
    toml::from_str(&format!(
        r#"
        creem_api_base = "{}"
        creem_api_key = "{API_KEY}"
        creem_webhook_secret = "{SECRET}"
        [[packs]]
        id = "pack-100"
        creem_product_id = "prod_pack100"
        credits = 100
        [[plans]]
        id = "pro"
        creem_product_id = "prod_pro"
        credits_per_period = 500
        "#,
        creem.base
    ))
    .unwrap()
}

async fn app_with(creem: &Standin) -> TestApp {
    let layer = settings(creem);
    let app = TestApp::spawn_with(move |config| config.billing.apply(layer)).await;
    point_webhooks(creem, &app).await;
    app
}

/// A control endpoint of the stand-in (`renew`, `refund`, `hold`, …).
async fn control(creem: &Standin, action: &str, body: Value) -> reqwest::Response {
    let url = format!("{}/control/{action}", creem.base);
    let response = Client::new().post(url).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "control {action}");
    response
}

/// Lithos' checkout for `product`: its id and Creem's `checkout_url`.
async fn checkout(app: &TestApp, client: &Client, product: &str) -> Value {
    let body = json!({ "product": product });
    client.post(app.url("/billing/checkout")).json(&body).fetch_json().await
}

async fn point_webhooks(creem: &Standin, app: &TestApp) {
    let body = json!({ "url": app.url("/billing/creem/webhook") });
    let set = Client::new().post(format!("{}/control/webhook", creem.base)).json(&body).send();
    assert!(set.await.unwrap().status().is_success());
}

/// Polls `check` until it holds (webhooks arrive on their own).
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

/// Pays on the stand-in's hosted page; returns its redirect back to Lithos.
async fn pay(checkout_url: &str, card: &str) -> reqwest::Response {
    let page = Client::new().get(checkout_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Card number"));
    let no_redirects =
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    no_redirects.post(format!("{checkout_url}/pay")).form(&[("card", card)]).send().await.unwrap()
}

#[tokio::test]
async fn buying_through_creem_grants_on_the_webhook_only_and_a_retry_after_an_outage_applies_once()
{
    let creem = standin();
    let mut app = app_with(&creem).await;
    let client = app.user("buyer@example.org").await;
    let buy = |body: Value| client.post(app.url("/billing/checkout")).json(&body).send();
    let response = buy(json!({ "product": "pack-1000" })).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created: Value =
        buy(json!({ "product": "pack-100", "units": 2 })).await.unwrap().json().await.unwrap();
    let url = created["checkout_url"].as_str().unwrap();
    assert!(url.starts_with(&creem.base), "{created}");

    // Declined: no payment, no credits.
    assert_eq!(pay(url, "4000 0000 0000 0002").await.status(), StatusCode::PAYMENT_REQUIRED);
    // Paid: back to Lithos with a signed redirect, which grants nothing by itself.
    let paid = pay(url, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&app.base) && back.contains("signature="), "{back}");
    let no_redirects =
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let shown = no_redirects.get(&back).send().await.unwrap();
    assert_eq!(shown.status(), StatusCode::SEE_OTHER);
    let id = created["id"].as_str().unwrap();
    assert_eq!(shown.headers()["location"], format!("/#billing?checkout={id}").as_str());
    let forged = back.replace("signature=", "signature=00");
    assert_eq!(no_redirects.get(&forged).send().await.unwrap().status(), StatusCode::BAD_REQUEST);

    eventually("the pack's webhook", || async { balance(&client, &app).await == 220 }).await;
    let state: Value = client.get(app.url(&format!("/billing/checkouts/{id}"))).fetch_json().await;
    assert_eq!(state["status"], "completed");
    let portal: Value = client.post(app.url("/billing/portal")).fetch_json().await;
    assert!(portal["url"].as_str().unwrap().starts_with(&creem.base));

    // A subscription, its renewal and a partial refund of the renewal.
    let created = checkout(&app, &client, "pro").await;
    assert_eq!(
        pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await.status(),
        StatusCode::SEE_OTHER
    );
    eventually("the first period", || async { balance(&client, &app).await == 720 }).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro");
    let sub = billing["subscription"]["id"].as_str().unwrap().to_owned();
    let renewed: Value =
        control(&creem, "renew", json!({ "subscription_id": sub })).await.json().await.unwrap();
    eventually("the renewal", || async { balance(&client, &app).await == 1220 }).await;
    let txn = renewed["transaction_id"].as_str().unwrap();
    control(&creem, "refund", json!({ "transaction_id": txn, "amount": 950 })).await;
    eventually("the half refund", || async { balance(&client, &app).await == 970 }).await;

    // Cancel at the period's end, through Lithos: the state changes when the webhook lands.
    let asked = client
        .post(app.url("/billing/subscription"))
        .json(&json!({ "action": "cancel" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    eventually("the scheduled cancel", || async {
        let billing: Value = client.get(app.url("/billing")).fetch_json().await;
        billing["subscription"]["status"] == "scheduled_cancel" && billing["plan"] == "pro"
    })
    .await;

    // Lithos is down when the next renewal is delivered: Creem's retries apply it once.
    app.stop().await;
    control(&creem, "renew", json!({ "subscription_id": sub })).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let layer = settings(&creem);
    app.start(move |config| config.billing.apply(layer)).await;
    point_webhooks(&creem, &app).await;
    let client = app.login("buyer@example.org").await;
    eventually("the retried renewal", || async { balance(&client, &app).await == 1470 }).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(balance(&client, &app).await, 1470, "applied once, whatever the retries");
    let events: Value =
        Client::new().get(format!("{}/control/events", creem.base)).fetch_json().await;
    let last = events.as_array().unwrap().last().unwrap();
    let tries = last["deliveries"].as_array().unwrap();
    assert!(tries.len() >= 2 && tries.last().unwrap() == 200, "failed, then delivered: {tries:?}");
}

#[tokio::test]
async fn reconciliation_applies_what_the_webhooks_missed_once() {
    let creem = standin();
    let app = app_with(&creem).await;
    let client = app.user("lost@example.org").await;
    control(&creem, "hold", json!({ "on": true })).await;
    for product in ["pack-100", "pro"] {
        let created = checkout(&app, &client, product).await;
        let paid = pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    }
    // Every event ran out of retries: none was ever delivered.
    let held: Value = control(&creem, "hold", json!({ "on": true })).await.json().await.unwrap();
    let held = held["held"].as_array().unwrap().clone();
    assert_eq!(held.len(), 4, "checkout.completed twice, subscription.active and .paid");
    for id in &held {
        control(&creem, "drop", json!({ "event_id": id })).await;
    }
    assert_eq!(balance(&client, &app).await, 20);

    let mut billing = lithos_server::config::Billing::new(50 << 20, 1 << 28);
    billing.apply(settings(&creem));
    let db = app.running.as_ref().unwrap().db.clone();
    let report = lithos_server::billing::reconcile::reconcile(&db, &billing, 0).await.unwrap();
    assert!(report.applied.len() >= 2, "{report:?}");
    assert_eq!(balance(&client, &app).await, 20 + 100 + 500, "{report:?}");
    let account: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(account["plan"], "pro");
    let again = lithos_server::billing::reconcile::reconcile(&db, &billing, 0).await.unwrap();
    assert!(again.applied.is_empty(), "a second run changes nothing: {again:?}");
    assert_eq!(balance(&client, &app).await, 620);

    // The lost events, delivered late after all, change nothing either.
    control(&creem, "hold", json!({ "on": false })).await;
    let events: Value =
        Client::new().get(format!("{}/control/events", creem.base)).fetch_json().await;
    for e in events.as_array().unwrap() {
        control(&creem, "redeliver", json!({ "event_id": e["event"]["id"] })).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(balance(&client, &app).await, 620);
}

/// The database refuses writes (another process holds SQLite's write lock) when a renewal
/// arrives: the webhook answers 5xx and nothing is applied; Creem's next attempt, once the
/// database is back, applies it once.
#[tokio::test]
async fn a_webhook_while_the_database_is_unavailable_gets_5xx_and_the_retry_applies_it_once() {
    if std::env::var("LITHOS_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        return; // SQLite's write lock is how this test takes the database away
    }
    use sqlx::Connection;
    let creem = standin();
    let app = app_with(&creem).await;
    let client = app.user("outage@example.org").await;
    let created = checkout(&app, &client, "pro").await;
    pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
    eventually("the first period", || async { balance(&client, &app).await == 520 }).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    let sub = billing["subscription"]["id"].as_str().unwrap().to_owned();

    let mut lock = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut lock).await.unwrap();
    let renewed: Value =
        control(&creem, "renew", json!({ "subscription_id": sub })).await.json().await.unwrap();
    let event = renewed["event_id"].as_str().unwrap().to_owned();
    let attempts = || async {
        let events: Value =
            Client::new().get(format!("{}/control/events", creem.base)).fetch_json().await;
        let this = events.as_array().unwrap().iter().find(|e| e["event"]["id"] == event.as_str());
        this.unwrap()["deliveries"].as_array().unwrap().clone()
    };
    for _ in 0..300 {
        if !attempts().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = attempts().await;
    assert_eq!(first[0], 500, "a 5xx, so Creem retries: {first:?}");
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);
    eventually("the retried renewal", || async { balance(&client, &app).await == 1020 }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(balance(&client, &app).await, 1020, "once");
    let tries = attempts().await;
    assert_eq!(tries.last().unwrap(), 200, "{tries:?}");
}

/// The stand-in delivers a first payment's three events in the order a test gives: the
/// period is granted once whatever it is.
#[tokio::test]
async fn the_stand_in_s_events_in_reverse_order_grant_one_period() {
    let creem = standin();
    let app = app_with(&creem).await;
    let client = app.user("reverse@example.org").await;
    control(&creem, "hold", json!({ "on": true })).await;
    let created = checkout(&app, &client, "pro").await;
    pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
    let held: Value = control(&creem, "hold", json!({ "on": false })).await.json().await.unwrap();
    let mut order: Vec<Value> = held["held"].as_array().unwrap().clone();
    assert_eq!(order.len(), 3, "checkout.completed, subscription.active, subscription.paid");
    order.reverse();
    control(&creem, "release", json!({ "order": order })).await;
    eventually("the period", || async { balance(&client, &app).await == 520 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(balance(&client, &app).await, 520, "once");
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro");
}

/// Deleting an account cancels its subscription at Creem at once (not at the period's end),
/// and the payment that granted its credits stays, pointing at the tombstone.
#[tokio::test]
async fn deleting_an_account_cancels_its_subscription_at_once() {
    let creem = standin();
    let app = app_with(&creem).await;
    let client = app.user("leaving-subscriber@example.org").await;
    let created = checkout(&app, &client, "pro").await;
    pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
    eventually("the first period", || async { balance(&client, &app).await == 520 }).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    let sub = billing["subscription"]["id"].as_str().unwrap().to_owned();
    let user = super::user_id(&client, &app).await;

    let deleted: Value = client
        .delete(app.url("/me"))
        .json(&json!({ "password": "correct horse battery" }))
        .fetch_json()
        .await;
    assert_eq!(deleted["subscription_canceled"], true, "{deleted}");
    let at_creem: Value = Client::new()
        .get(format!("{}/v1/subscriptions?subscription_id={sub}", creem.base))
        .header("x-api-key", API_KEY)
        .fetch_json()
        .await;
    assert_eq!(at_creem["status"], "canceled", "canceled now, not scheduled: {at_creem}");
    let db = app.running.as_ref().unwrap().db.clone();
    let payments: Vec<(String, i64)> =
        sqlx::query_as("SELECT user_id, credits FROM payments").fetch_all(&db.pool).await.unwrap();
    assert_eq!(payments, [(user, 500)], "the payment record stays");
}
