//! Creem's webhooks against the real inbox, on SQLite and PostgreSQL: events shaped as Creem's
//! documentation shows them, signed as Creem signs them. Grants happen exactly once whatever
//! the duplicates and the order; refunds and disputes claw back no more than was granted;
//! plans set what an account may do.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, TestApp, png};

const SECRET: &str = "whsec_lithos_test";

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
async fn deliver_signed(app: &TestApp, event: &Value, secret: Option<&str>) -> reqwest::Response {
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

async fn deliver(app: &TestApp, event: &Value) -> String {
    let response = deliver_signed(app, event, Some(SECRET)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    body["delivery"].as_str().unwrap().to_owned()
}

async fn user_id(client: &Client, app: &TestApp) -> String {
    let me: Value = client.get(app.url("/me")).fetch_json().await;
    me["id"].as_str().unwrap().to_owned()
}

async fn balance(client: &Client, app: &TestApp) -> i64 {
    app.credits(client).await["balance"].as_i64().unwrap()
}

fn product(id: &str, recurring: bool) -> Value {
    json!({
        "id": id, "object": "product", "name": id, "description": "", "image_url": null,
        "price": 900, "currency": "EUR",
        "billing_type": if recurring { "recurring" } else { "onetime" },
        "billing_period": if recurring { "every-month" } else { "once" },
        "status": "active", "tax_mode": "inclusive", "tax_category": "saas",
        "default_success_url": null, "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z", "mode": "test"
    })
}

fn customer(id: &str) -> Value {
    json!({
        "id": id, "object": "customer", "email": "buyer@example.org", "name": "Buyer",
        "country": "NL", "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z", "mode": "test"
    })
}

fn transaction(id: &str, amount_paid: i64, status: &str) -> Value {
    json!({
        "id": id, "object": "transaction", "amount": amount_paid, "amount_paid": amount_paid,
        "currency": "EUR", "type": "payment", "tax_country": "NL", "tax_amount": 0,
        "status": status, "refunded_amount": null, "order": "ord_x", "subscription": null,
        "customer": "cust_x", "description": null, "period_start": null, "period_end": null,
        "created_at": 1_767_225_600_000_i64, "mode": "test"
    })
}

fn event(id: &str, kind: &str, created_at: i64, object: Value) -> Value {
    json!({ "id": id, "eventType": kind, "created_at": created_at, "object": object })
}

/// `checkout.completed` for `units` of a pack, as Creem's documented example has it.
fn pack_checkout(evt: &str, user: &str, cust: &str, order: &str, txn: &str, units: i64) -> Value {
    event(
        evt,
        "checkout.completed",
        1_767_225_600_000,
        json!({
            "id": format!("ch_{order}"), "object": "checkout", "request_id": format!("req_{order}"),
            "order": {
                "id": order, "object": "order", "customer": cust, "product": "prod_pack100",
                "transaction": txn, "amount": 900 * units, "sub_total": 900 * units, "tax_amount": 0,
                "amount_due": 900 * units, "amount_paid": 900 * units, "currency": "EUR",
                "status": "paid", "type": "onetime", "created_at": "2026-01-01T00:00:00.000Z",
                "updated_at": "2026-01-01T00:00:00.000Z", "mode": "test"
            },
            "product": product("prod_pack100", false), "customer": customer(cust),
            "custom_fields": [], "status": "completed", "metadata": { "user_id": user },
            "units": units, "mode": "test"
        }),
    )
}

/// A `subscription.*` event of the pro plan; `metadata` as Creem copies it from the checkout.
#[expect(clippy::too_many_arguments, reason = "the fields a test varies")]
fn subscription(
    evt: &str,
    kind: &str,
    at: i64,
    sub: &str,
    cust: &str,
    txn: &str,
    metadata: Value,
    period_end: &str,
) -> Value {
    let status = match kind {
        "subscription.paid" => "active",
        other => other.trim_start_matches("subscription."),
    };
    event(
        evt,
        kind,
        at,
        json!({
            "id": sub, "object": "subscription", "product": product("prod_pro", true),
            "customer": customer(cust), "items": [{ "id": "sitem_1", "product_id": "prod_pro", "price_id": "pprice_1", "units": 1 }],
            "collection_method": "charge_automatically", "status": status,
            "last_transaction_id": txn, "last_transaction": transaction(txn, 1900, "paid"),
            "last_transaction_date": "2026-01-01T00:00:00.000Z",
            "next_transaction_date": period_end,
            "current_period_start_date": "2026-01-01T00:00:00.000Z",
            "current_period_end_date": period_end, "canceled_at": null,
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
            "metadata": metadata, "mode": "test"
        }),
    )
}

fn sub_checkout(evt: &str, user: &str, sub: &str, cust: &str) -> Value {
    event(
        evt,
        "checkout.completed",
        1_767_225_600_000,
        json!({
            "id": format!("ch_{sub}"), "object": "checkout", "request_id": format!("req_{sub}"),
            "order": {
                "id": format!("ord_{sub}"), "object": "order", "customer": cust, "product": "prod_pro",
                "transaction": format!("tran_first_{sub}"), "amount": 1900, "amount_paid": 1900,
                "currency": "EUR", "status": "paid", "type": "recurring", "mode": "test"
            },
            "product": product("prod_pro", true), "customer": customer(cust),
            "subscription": { "id": sub, "object": "subscription", "product": "prod_pro", "customer": cust,
                "collection_method": "charge_automatically", "status": "active", "metadata": { "user_id": user }, "mode": "test" },
            "custom_fields": [], "status": "completed", "metadata": { "user_id": user }, "mode": "test"
        }),
    )
}

fn refund(evt: &str, id: &str, txn: &str, amount: i64, paid: i64) -> Value {
    event(
        evt,
        "refund.created",
        1_767_312_000_000,
        json!({
            "id": id, "object": "refund", "status": "succeeded", "refund_amount": amount,
            "refund_currency": "EUR", "reason": "requested_by_customer",
            "transaction": transaction(txn, paid, "refunded"), "subscription": null,
            "checkout": null, "order": null, "customer": "cust_x", "created_at": 1_767_312_000_000_i64,
            "mode": "test"
        }),
    )
}

fn dispute(evt: &str, id: &str, txn: &str, paid: i64) -> Value {
    event(
        evt,
        "dispute.created",
        1_767_398_400_000,
        json!({
            "id": id, "object": "dispute", "amount": paid, "currency": "EUR",
            "transaction": transaction(txn, paid, "chargeback"), "subscription": null,
            "checkout": null, "order": null, "customer": "cust_x",
            "created_at": 1_767_398_400_000_i64, "mode": "test"
        }),
    )
}

async fn events_stored(app: &TestApp) -> i64 {
    let db = lithos_server::Db::connect(&app.database_url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM billing_events").fetch_one(&db.pool).await.unwrap()
}

#[test]
fn the_stand_in_signs_as_creem_s_published_vectors_say() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/creem/standin.py");
    let run = std::process::Command::new("python3").args([script, "--self-test"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
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

/// The Creem stand-in (`tests/creem/standin.py`) on a free port; killed when dropped.
struct Standin {
    child: std::process::Child,
    base: String,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const API_KEY: &str = "creem_test_key_lithos";

fn standin() -> Standin {
    use std::io::BufRead;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/creem/standin.py");
    let mut child = std::process::Command::new("python3")
        .args([script, "--api-key", API_KEY, "--webhook-secret", SECRET])
        .args(["--product", "prod_pack100:onetime:900", "--product", "prod_pro:recurring:1900"])
        .args(["--retry-seconds", "0.3,0.6,1.2,2.4"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the stand-in");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("listening on ").expect("the stand-in's port");
    Standin { child, base: format!("http://127.0.0.1:{port}") }
}

async fn app_with(creem: &Standin) -> TestApp {
    let base = creem.base.clone();
    let app = TestApp::spawn_with(move |config| {
        let layer: lithos_server::config::BillingLayer = toml::from_str(&format!(
            r#"
            creem_api_base = "{base}"
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
            "#
        ))
        .unwrap();
        config.billing.apply(layer);
    })
    .await;
    point_webhooks(creem, &app).await;
    app
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
    let created: Value = buy(json!({ "product": "pro" })).await.unwrap().json().await.unwrap();
    assert_eq!(
        pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await.status(),
        StatusCode::SEE_OTHER
    );
    eventually("the first period", || async { balance(&client, &app).await == 720 }).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro");
    let sub = billing["subscription"]["id"].as_str().unwrap().to_owned();
    let control = |action: &str, body: Value| {
        Client::new().post(format!("{}/control/{action}", creem.base)).json(&body).send()
    };
    let renewed: Value =
        control("renew", json!({ "subscription_id": sub })).await.unwrap().json().await.unwrap();
    eventually("the renewal", || async { balance(&client, &app).await == 1220 }).await;
    let txn = renewed["transaction_id"].as_str().unwrap();
    control("refund", json!({ "transaction_id": txn, "amount": 950 })).await.unwrap();
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
    control("renew", json!({ "subscription_id": sub })).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.start(|config| {
        let layer: lithos_server::config::BillingLayer = toml::from_str(&format!(
            "creem_api_base = \"{}\"\ncreem_api_key = \"{API_KEY}\"\ncreem_webhook_secret = \"{SECRET}\"\n\
             [[packs]]\nid = \"pack-100\"\ncreem_product_id = \"prod_pack100\"\ncredits = 100\n\
             [[plans]]\nid = \"pro\"\ncreem_product_id = \"prod_pro\"\ncredits_per_period = 500\n",
            creem.base
        ))
        .unwrap();
        config.billing.apply(layer);
    })
    .await;
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
    let control = |action: &str, body: Value| {
        Client::new().post(format!("{}/control/{action}", creem.base)).json(&body).send()
    };
    control("hold", json!({ "on": true })).await.unwrap();
    for product in ["pack-100", "pro"] {
        let created: Value = client
            .post(app.url("/billing/checkout"))
            .json(&json!({ "product": product }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let paid = pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    }
    // Every event ran out of retries: none was ever delivered.
    let held: Value = control("hold", json!({ "on": true })).await.unwrap().json().await.unwrap();
    let held = held["held"].as_array().unwrap().clone();
    assert_eq!(held.len(), 4, "checkout.completed twice, subscription.active and .paid");
    for id in &held {
        control("drop", json!({ "event_id": id })).await.unwrap();
    }
    assert_eq!(balance(&client, &app).await, 20);

    let mut billing = lithos_server::config::Billing::new(50 << 20, 1 << 28);
    billing.apply(
        toml::from_str(&format!(
            "creem_api_base = \"{}\"\ncreem_api_key = \"{API_KEY}\"\n\
             [[packs]]\nid = \"pack-100\"\ncreem_product_id = \"prod_pack100\"\ncredits = 100\n\
             [[plans]]\nid = \"pro\"\ncreem_product_id = \"prod_pro\"\ncredits_per_period = 500\n",
            creem.base
        ))
        .unwrap(),
    );
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
    control("hold", json!({ "on": false })).await.unwrap();
    let events: Value =
        Client::new().get(format!("{}/control/events", creem.base)).fetch_json().await;
    for e in events.as_array().unwrap() {
        control("redeliver", json!({ "event_id": e["event"]["id"] })).await.unwrap();
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
    let created: Value = client
        .post(app.url("/billing/checkout"))
        .json(&json!({ "product": "pro" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
    eventually("the first period", || async { balance(&client, &app).await == 520 }).await;
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    let sub = billing["subscription"]["id"].as_str().unwrap().to_owned();

    let mut lock = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut lock).await.unwrap();
    let renewed: Value = Client::new()
        .post(format!("{}/control/renew", creem.base))
        .json(&json!({ "subscription_id": sub }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let control = |action: &str, body: Value| {
        Client::new().post(format!("{}/control/{action}", creem.base)).json(&body).send()
    };
    control("hold", json!({ "on": true })).await.unwrap();
    let created: Value = client
        .post(app.url("/billing/checkout"))
        .json(&json!({ "product": "pro" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pay(created["checkout_url"].as_str().unwrap(), "4242424242424242").await;
    let held: Value = control("hold", json!({ "on": false })).await.unwrap().json().await.unwrap();
    let mut order: Vec<Value> = held["held"].as_array().unwrap().clone();
    assert_eq!(order.len(), 3, "checkout.completed, subscription.active, subscription.paid");
    order.reverse();
    control("release", json!({ "order": order })).await.unwrap();
    eventually("the period", || async { balance(&client, &app).await == 520 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(balance(&client, &app).await, 520, "once");
    let billing: Value = client.get(app.url("/billing")).fetch_json().await;
    assert_eq!(billing["plan"], "pro");
}
