//! Creem's webhooks against the real inbox, on SQLite and PostgreSQL: events shaped as Creem's
//! documentation shows them, signed as Creem signs them. Grants happen exactly once whatever
//! the duplicates and the order; refunds and disputes claw back no more than was granted;
//! plans set what an account may do.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

mod payloads;
mod standin;

use payloads::*;

pub(super) const SECRET: &str = "whsec_lithos_test";

async fn app() -> TestApp {
    TestApp::spawn_with(|config| {
        let layer: lithos_server::config::BillingLayer = toml::from_str(&format!(
            r#"
            creem_webhook_secret = "{SECRET}"
            free = {{ max_megapixels = 0.05, max_upload_mb = 1 }}
            [[packs]]
            id = "pack-100"
            creem_product_id = "prod_pack100"
            credits = 100
            price = 900
            currency = "EUR"
            [[plans]]
            id = "pro"
            creem_product_id = "prod_pro"
            credits_per_period = 500
            max_megapixels = 50
            max_running = 3
            "#
        ))
        .unwrap();
        config.billing.apply(layer);
    })
    .await
}

/// Posts `event` signed with `secret`.
pub(super) async fn deliver_signed(
    app: &TestApp,
    event: &Value,
    secret: Option<&str>,
) -> reqwest::Response {
    let body = serde_json::to_vec(event).unwrap();
    let mut request = Client::new()
        .post(app.url("/billing/creem/webhook"))
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request =
            request.header("creem-signature", lithos_server::billing::signature_of(secret, &body));
    }
    request.body(body).send().await.unwrap()
}

pub(super) async fn deliver(app: &TestApp, event: &Value) -> String {
    let response = deliver_signed(app, event, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["delivery"].as_str().unwrap().to_owned()
}

pub(super) async fn user_id(client: &Client, app: &TestApp) -> String {
    let me: Value = client.get(app.url("/me")).fetch_json().await;
    me["id"].as_str().unwrap().to_owned()
}

pub(super) async fn balance(client: &Client, app: &TestApp) -> i64 {
    app.credits(client).await["balance"].as_i64().unwrap()
}

async fn events_stored(app: &TestApp) -> i64 {
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM billing_events").fetch_one(&db.pool).await.unwrap()
}

#[tokio::test]
async fn forged_missing_and_stale_signatures_get_401_and_store_nothing() {
    let app = app().await;
    let client = app.user("sig@example.org").await;
    let user = user_id(&client, &app).await;
    let purchase = pack_checkout("evt_sig", &user, "cust_sig", "ord_sig", "tran_sig", 1);
    for secret in [None, Some("whsec_old_secret"), Some("")] {
        let response = deliver_signed(&app, &purchase, secret).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{secret:?}");
    }
    // A signature over another body.
    let body = serde_json::to_vec(&purchase).unwrap();
    let forged = lithos_server::billing::signature_of(SECRET, b"{\"id\":\"evt_other\"}");
    let response = Client::new()
        .post(app.url("/billing/creem/webhook"))
        .header("creem-signature", forged)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(events_stored(&app).await, 0, "nothing stored");
    assert_eq!(balance(&client, &app).await, 20, "nothing granted");

    // An unknown type is recorded and answered 200.
    let unknown =
        event("evt_new_kind", "subscription.future_thing_of_2027", 1, json!({ "id": "x" }));
    assert_eq!(deliver(&app, &unknown).await, "ignored");
    let other = event("evt_other_kind", "payout.sent", 1, json!({}));
    assert_eq!(deliver(&app, &other).await, "ignored");
    assert_eq!(events_stored(&app).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pack_grants_credits_times_units_once_under_50_concurrent_duplicates() {
    let app = app().await;
    let client = app.user("pack@example.org").await;
    let user = user_id(&client, &app).await;
    let purchase = pack_checkout("evt_pack", &user, "cust_pack", "ord_pack", "tran_pack", 3);
    let deliveries: Vec<_> =
        (0..50).map(|_| deliver_signed(&app, &purchase, Some(SECRET))).collect();
    let answers = futures_util::future::join_all(deliveries).await;
    let mut kinds = Vec::new();
    for response in answers {
        assert_eq!(response.status(), StatusCode::OK);
        kinds
            .push(response.json::<Value>().await.unwrap()["delivery"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.iter().filter(|k| *k == "processed").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "duplicate").count(), 49);
    assert_eq!(balance(&client, &app).await, 20 + 300, "3 units of 100, once");
    let credits = app.credits(&client).await;
    let purchases: Vec<&Value> =
        credits["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "purchase").collect();
    assert_eq!(purchases.len(), 1);
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["payments"][0]["credits"], 300);
    assert_eq!(billing["payments"][0]["amount_paid"], 2700);
}

#[tokio::test]
async fn a_first_subscription_payment_grants_one_period_in_every_order_and_a_renewal_another() {
    let app = app().await;
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (n, order) in orders.iter().enumerate() {
        let client = app.user(&format!("sub{n}@example.org")).await;
        let user = user_id(&client, &app).await;
        let (sub, cust, txn) = (format!("sub_{n}"), format!("cust_sub_{n}"), format!("tran_{n}_1"));
        let end = "2099-02-01T00:00:00.000Z";
        // Odd runs: the subscription events carry no metadata, so they wait for the checkout's
        // link of the customer.
        let meta = if n % 2 == 0 { json!({ "user_id": user }) } else { json!({}) };
        let events = [
            sub_checkout(&format!("evt_{n}_c"), &user, &sub, &cust),
            subscription(
                &format!("evt_{n}_a"),
                "subscription.active",
                1_767_225_600_100,
                &sub,
                &cust,
                &txn,
                meta.clone(),
                end,
            ),
            subscription(
                &format!("evt_{n}_p"),
                "subscription.paid",
                1_767_225_600_200,
                &sub,
                &cust,
                &txn,
                meta.clone(),
                end,
            ),
        ];
        for &i in order {
            deliver(&app, &events[i]).await;
            deliver(&app, &events[i]).await; // and a duplicate
        }
        assert_eq!(balance(&client, &app).await, 20 + 500, "order {order:?}: one period");
        let billing: Value = client.get(app.url("/billing")).fetch_json().await;
        assert_eq!(billing["plan"], "pro", "order {order:?}");
        assert_eq!(billing["subscription"]["status"], "active");

        // The renewal: a new transaction, a second period.
        let renewal = subscription(
            &format!("evt_{n}_r"),
            "subscription.paid",
            1_769_904_000_000,
            &sub,
            &cust,
            &format!("tran_{n}_2"),
            meta,
            end,
        );
        assert_eq!(deliver(&app, &renewal).await, "processed");
        assert_eq!(deliver(&app, &renewal).await, "duplicate");
        assert_eq!(balance(&client, &app).await, 20 + 1000);
    }
}

#[tokio::test]
async fn refunds_and_disputes_claw_back_at_most_what_was_granted_and_a_short_dispute_holds() {
    let app = app().await;
    let client = app.user("refund@example.org").await;
    let user = user_id(&client, &app).await;
    // Two packs: one refunded in full; one refunded 30%, then disputed.
    deliver(&app, &pack_checkout("evt_r1", &user, "cust_r", "ord_r1", "tran_r1", 1)).await;
    deliver(&app, &pack_checkout("evt_r2", &user, "cust_r", "ord_r2", "tran_r2", 1)).await;
    assert_eq!(balance(&client, &app).await, 220);
    assert_eq!(
        deliver(&app, &refund("evt_f1", "ref_full", "tran_r1", 900, 900)).await,
        "processed"
    );
    assert_eq!(
        deliver(&app, &refund("evt_f1", "ref_full", "tran_r1", 900, 900)).await,
        "duplicate"
    );
    assert_eq!(balance(&client, &app).await, 120, "the full refund took all 100");
    // The same refund as another event id (a redelivery Creem numbered anew) changes nothing.
    deliver(&app, &refund("evt_f1b", "ref_full", "tran_r1", 900, 900)).await;
    assert_eq!(balance(&client, &app).await, 120);
    deliver(&app, &refund("evt_p2", "ref_part", "tran_r2", 270, 900)).await;
    assert_eq!(balance(&client, &app).await, 90, "30% of 900 paid: 30 of 100 credits");
    deliver(&app, &dispute("evt_d2", "disp_2", "tran_r2", 900)).await;
    assert_eq!(balance(&client, &app).await, 20, "the dispute took the 70 left, no more");
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    let payments = billing["payments"].as_array().unwrap();
    for p in payments {
        assert!(p["clawed_back"].as_i64() <= p["credits"].as_i64(), "{p}");
    }
    assert!(billing["hold"].is_null(), "the balance covered it");

    // A dispute after the credits are spent: balance 0, the shortfall recorded, a hold, 402.
    let spender = app.user("spender@example.org").await;
    let spender_id = user_id(&spender, &app).await;
    deliver(&app, &pack_checkout("evt_s", &spender_id, "cust_s", "ord_s", "tran_s", 1)).await;
    let admin = app.admin("ops@example.org").await;
    let taken = admin
        .post(app.url(&format!("/admin/users/{spender_id}/credits")))
        .json(&json!({ "amount": -100, "reason": "spent on tasks (test)" }))
        .send()
        .await
        .unwrap();
    assert!(taken.status().is_success(), "{}", taken.text().await.unwrap());
    assert_eq!(balance(&spender, &app).await, 20);
    deliver(&app, &dispute("evt_ds", "disp_s", "tran_s", 900)).await;
    assert_eq!(balance(&spender, &app).await, 0);
    let billing: Value = spender.get(app.url("/billing")).fetch_json().await;
    let reversal = &billing["payments"][0]["reversals"][0];
    assert_eq!(
        (reversal["credits"].as_i64(), reversal["shortfall"].as_i64()),
        (Some(20), Some(80))
    );
    assert!(billing["hold"].as_str().unwrap().contains("disputed"), "{billing}");
    let upload = app.upload_ok(&spender, "a.png", png(8)).await;
    let response = app.submit(&spender, &json!({ "upload_id": upload, "mode": "relief" })).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "billing_hold");

    // The console shows the hold and the account's Creem customer; an operator clears the
    // hold (audited), and tasks are taken again.
    let detail: Value =
        admin.get(app.url(&format!("/admin/users/{spender_id}"))).fetch_json().await;
    assert_eq!(detail["creem_customers"], json!(["cust_s"]));
    assert!(detail["billing_hold"].as_str().unwrap().contains("disputed"), "{detail}");
    let overview: Value = admin.get(app.url("/admin/billing")).fetch_json().await;
    assert_eq!(overview["holds"][0]["user_id"], spender_id.as_str());
    assert_eq!(overview["reversals"].as_array().unwrap().len(), 4);
    let clear = |reason: &str| {
        admin
            .post(app.url(&format!("/admin/users/{spender_id}/billing-hold/clear")))
            .json(&json!({ "reason": reason }))
            .send()
    };
    assert_eq!(clear(" ").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clear("settled by bank transfer").await.unwrap().status(), StatusCode::OK);
    let audit: Value = admin.get(app.url("/admin/audit")).fetch_json().await;
    assert!(audit.to_string().contains("user.billing_hold.clear"), "{audit}");
    let billing: Value = spender.get(app.url("/billing")).fetch_json().await;
    assert!(billing["hold"].is_null());
    let response = app.submit(&spender, &json!({ "upload_id": upload, "mode": "relief" })).await;
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "insufficient_credits", "the hold is gone: {error}");
    let inbox: Value =
        admin.get(app.url("/admin/billing/events?status=processed")).fetch_json().await;
    assert!(inbox["events"].as_array().unwrap().iter().all(|e| e["status"] == "processed"));
}

#[tokio::test]
async fn plans_set_the_grid_allowed_and_a_canceled_plan_ends_with_its_period() {
    let app = app().await;
    let client = app.user("plan@example.org").await;
    let user = user_id(&client, &app).await;
    let upload = app.upload_ok(&client, "a.png", png(300)).await;
    let body = json!({ "upload_id": upload, "mode": "relief", "params": { "max_grid": 300 } });
    let response = app.submit(&client, &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("free plan") && message.contains("max_megapixels"), "{message}");

    // Upgraded: accepted.
    let meta = json!({ "user_id": user });
    let active = subscription(
        "evt_up",
        "subscription.active",
        1_767_225_600_000,
        "sub_up",
        "cust_up",
        "tran_up",
        meta.clone(),
        "2099-01-01T00:00:00.000Z",
    );
    deliver(&app, &active).await;
    app.submit_ok(&client, &body).await;

    // Canceled with its period still ahead: pro until then.
    let canceled = subscription(
        "evt_cancel",
        "subscription.canceled",
        1_767_225_700_000,
        "sub_up",
        "cust_up",
        "tran_up",
        meta.clone(),
        "2099-01-01T00:00:00.000Z",
    );
    deliver(&app, &canceled).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro");
    assert!(billing["plan_ends_at"].as_i64().is_some());
    // An older `active` arriving late does not revive it.
    let late = subscription(
        "evt_late",
        "subscription.active",
        1_767_225_650_000,
        "sub_up",
        "cust_up",
        "tran_up",
        meta.clone(),
        "2099-01-01T00:00:00.000Z",
    );
    deliver(&app, &late).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["subscription"]["status"], "canceled");

    // Expired at its period's end: free limits again.
    let expired = subscription(
        "evt_exp",
        "subscription.expired",
        1_767_225_800_000,
        "sub_up",
        "cust_up",
        "tran_up",
        meta,
        "2026-01-02T00:00:00.000Z",
    );
    deliver(&app, &expired).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "free");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(app.submit(&client, &body).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A plan canceled with a second of its period left is free once the second has passed.
    let soon = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(lithos_server::now_ms() + 1000) * 1_000_000,
    )
    .unwrap()
    .format(&time::format_description::well_known::Rfc3339)
    .unwrap();
    let renewed = subscription(
        "evt_re",
        "subscription.active",
        1_767_225_900_000,
        "sub_up",
        "cust_up",
        "tran_up",
        json!({ "user_id": user }),
        "2099-01-01T00:00:00.000Z",
    );
    deliver(&app, &renewed).await;
    let ending = subscription(
        "evt_end",
        "subscription.canceled",
        1_767_226_000_000,
        "sub_up",
        "cust_up",
        "tran_up",
        json!({ "user_id": user }),
        &soon,
    );
    deliver(&app, &ending).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro", "until the period ends");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "free", "then free");
    assert_eq!(app.submit(&client, &body).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The free plan's upload limit, named.
    let response = app.upload(&client, "big.png", vec![0x89; 2 << 20]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("free plan"), "{error}");

    // The catalog is public.
    let catalog: Value = Client::new().get(app.url("/billing/catalog")).fetch_json().await;
    assert_eq!(catalog["packs"][0]["id"], "pack-100");
    assert_eq!(catalog["packs"][0]["creem_product_id"], "", "Creem's ids stay private");
    assert_eq!(catalog["plans"][1]["limits"]["max_running"], 3);
}
