//! Each event's effects, inside the inbox's transaction. Every handler works alone, whatever
//! order events arrive in: the user comes from the checkout's metadata or the Creem customer
//! linked earlier (else the event waits for the link), amounts of credits come only from the
//! catalog, and each ledger entry carries its payment's business key, so applying an event
//! twice changes nothing.

use serde_json::Value;
use sqlx::AnyConnection;

use super::payload::{Event, id_of, integer, metadata_user, millis, text};
use crate::config::{Billing, FREE_PLAN, Plan};
use crate::credits::{self, Kind};
use crate::ids::UserId;
use crate::now_ms;

/// What became of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// Its effects are in; `woke` names what waiting events may now proceed.
    Done { woke: Vec<String> },
    /// It needs something first (`customer:…`, `transaction:…`).
    Waiting(String),
    /// Nothing to do, and why (an unknown type, a product outside the catalog).
    Ignored(String),
}

type Result<T> = std::result::Result<T, crate::domain::DomainError>;

pub async fn apply(conn: &mut AnyConnection, billing: &Billing, event: &Event) -> Result<Applied> {
    let object = &event.object;
    match event.event_type.as_str() {
        "checkout.completed" => checkout_completed(conn, billing, object).await,
        "subscription.paid" => subscription_paid(conn, billing, object, event.created_ms()).await,
        t if t.starts_with("subscription.") => {
            subscription_state(conn, billing, object, t, event.created_ms()).await
        }
        "refund.created" => refund(conn, object).await,
        "dispute.created" => dispute(conn, object).await,
        other => Ok(Applied::Ignored(format!("Lithos does not act on `{other}` events"))),
    }
}

/// The user an object belongs to: from the metadata Lithos set at checkout (linking the Creem
/// customer to them), else from the customer linked earlier.
async fn user_of(conn: &mut AnyConnection, object: &Value) -> Result<(Option<UserId>, String)> {
    let customer = object.get("customer").and_then(id_of).unwrap_or_default();
    if let Some(user) = metadata_user(object) {
        let exists: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(&user)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(user) = exists {
            if !customer.is_empty() {
                sqlx::query(
                    "INSERT INTO creem_customers (customer_id, user_id, linked_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO NOTHING",
                )
                .bind(&customer)
                .bind(&user)
                .bind(now_ms())
                .execute(&mut *conn)
                .await?;
            }
            return Ok((Some(user), customer));
        }
    }
    let linked: Option<UserId> =
        sqlx::query_scalar("SELECT user_id FROM creem_customers WHERE customer_id = $1")
            .bind(&customer)
            .fetch_optional(&mut *conn)
            .await?;
    Ok((linked, customer))
}

/// A payment that granted credits.
struct Payment<'a> {
    transaction_id: &'a str,
    kind: &'a str,
    product: &'a str,
    order_id: Option<&'a str>,
    subscription_id: Option<&'a str>,
    amount_paid: i64,
    currency: &'a str,
    credits: i64,
}

/// Grants `payment.credits` under `key`, and records the payment, once.
async fn grant(
    conn: &mut AnyConnection,
    user: &UserId,
    payment: Payment<'_>,
    key: &str,
    reason: &str,
) -> Result<bool> {
    if !credits::post_once(conn, user, Kind::Purchase, payment.credits, reason, key).await? {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO payments (transaction_id, user_id, kind, product, order_id, \
         subscription_id, amount_paid, currency, credits, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (transaction_id) DO NOTHING",
    )
    .bind(payment.transaction_id)
    .bind(user)
    .bind(payment.kind)
    .bind(payment.product)
    .bind(payment.order_id)
    .bind(payment.subscription_id)
    .bind(payment.amount_paid)
    .bind(payment.currency)
    .bind(payment.credits)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

async fn checkout_completed(
    conn: &mut AnyConnection,
    billing: &Billing,
    object: &Value,
) -> Result<Applied> {
    if let Some(request) = text(object, "request_id") {
        sqlx::query(
            "UPDATE checkouts SET status = 'completed', completed_at = $1, \
             creem_checkout_id = $2 WHERE id = $3 AND status <> 'completed'",
        )
        .bind(now_ms())
        .bind(text(object, "id"))
        .bind(request)
        .execute(&mut *conn)
        .await?;
    }
    let (user, customer) = user_of(conn, object).await?;
    let Some(user) = user else { return Ok(Applied::Waiting(format!("customer:{customer}"))) };
    let mut woke = vec![format!("customer:{customer}")];
    let product = object.get("product").and_then(id_of).unwrap_or_default();
    let Some(pack) = billing.pack_for_product(&product) else {
        if billing.plan_for_product(&product).is_some() {
            // A subscription's first checkout: its period is granted on `subscription.paid`.
            return Ok(Applied::Done { woke });
        }
        return Ok(Applied::Ignored(format!("the product {product} is not in the catalog")));
    };
    let order = object.get("order").cloned().unwrap_or(Value::Null);
    let Some(order_id) = id_of(&order) else {
        return Ok(Applied::Ignored("the checkout has no order".into()));
    };
    if text(&order, "status").is_some_and(|s| s != "paid") {
        return Ok(Applied::Ignored(format!("the order {order_id} is not paid")));
    }
    let units = integer(object, "units").unwrap_or(1).clamp(1, 10_000);
    let transaction = order.get("transaction").and_then(id_of).unwrap_or_else(|| order_id.clone());
    let payment = Payment {
        transaction_id: &transaction,
        kind: "pack",
        product: &pack.id,
        order_id: Some(&order_id),
        subscription_id: None,
        amount_paid: integer(&order, "amount_paid").or(integer(&order, "amount")).unwrap_or(0),
        currency: text(&order, "currency").unwrap_or(""),
        credits: pack.credits.saturating_mul(units),
    };
    let reason = format!("bought {units} x {}", pack.id);
    grant(conn, &user, payment, &format!("creem:order:{order_id}"), &reason).await?;
    woke.push(format!("transaction:{transaction}"));
    Ok(Applied::Done { woke })
}

/// A subscription object's plan and id, or why its event is ignored.
fn plan_and_id<'b>(
    billing: &'b Billing,
    object: &Value,
) -> std::result::Result<(&'b Plan, String), Applied> {
    let product = object.get("product").and_then(id_of).unwrap_or_default();
    let Some(plan) = billing.plan_for_product(&product) else {
        return Err(Applied::Ignored(format!(
            "the product {product} is not a plan in the catalog"
        )));
    };
    let Some(id) = text(object, "id").map(str::to_owned) else {
        return Err(Applied::Ignored("the subscription has no id".into()));
    };
    Ok((plan, id))
}

async fn subscription_paid(
    conn: &mut AnyConnection,
    billing: &Billing,
    object: &Value,
    at: i64,
) -> Result<Applied> {
    let (plan, id) = match plan_and_id(billing, object) {
        Ok(found) => found,
        Err(ignored) => return Ok(ignored),
    };
    let last = object.get("last_transaction").cloned().unwrap_or(Value::Null);
    let Some(transaction) =
        text(object, "last_transaction_id").map(str::to_owned).or_else(|| id_of(&last))
    else {
        return Ok(Applied::Ignored("the subscription names no paid transaction".into()));
    };
    let (user, customer) = user_of(conn, object).await?;
    let Some(user) = user else { return Ok(Applied::Waiting(format!("customer:{customer}"))) };
    let order = last.get("order").and_then(id_of);
    let payment = Payment {
        transaction_id: &transaction,
        kind: "period",
        product: &plan.id,
        order_id: order.as_deref(),
        subscription_id: Some(&id),
        amount_paid: integer(&last, "amount_paid").unwrap_or(0),
        currency: text(&last, "currency").unwrap_or(""),
        credits: plan.credits_per_period,
    };
    let key = format!("creem:sub:{id}:txn:{transaction}");
    let reason = format!("{} plan period", plan.id);
    grant(conn, &user, payment, &key, &reason).await?;
    set_state(conn, billing, &user, &id, &plan.id, "active", object, at).await?;
    Ok(Applied::Done {
        woke: vec![format!("customer:{customer}"), format!("transaction:{transaction}")],
    })
}

async fn subscription_state(
    conn: &mut AnyConnection,
    billing: &Billing,
    object: &Value,
    event_type: &str,
    at: i64,
) -> Result<Applied> {
    let (plan, id) = match plan_and_id(billing, object) {
        Ok(found) => found,
        Err(ignored) => return Ok(ignored),
    };
    let (user, customer) = user_of(conn, object).await?;
    let Some(user) = user else { return Ok(Applied::Waiting(format!("customer:{customer}"))) };
    let status = text(object, "status")
        .map(str::to_owned)
        .unwrap_or_else(|| event_type.trim_start_matches("subscription.").to_owned());
    set_state(conn, billing, &user, &id, &plan.id, &status, object, at).await?;
    Ok(Applied::Done { woke: vec![format!("customer:{customer}")] })
}

/// Records a subscription's state as of `at` (an older event never overwrites a newer one)
/// and sets the user's plan from it.
#[expect(clippy::too_many_arguments, reason = "the parts of one state change")]
async fn set_state(
    conn: &mut AnyConnection,
    _billing: &Billing,
    user: &UserId,
    id: &str,
    plan: &str,
    status: &str,
    object: &Value,
    at: i64,
) -> Result<()> {
    let start = object.get("current_period_start_date").and_then(millis);
    let end = object.get("current_period_end_date").and_then(millis);
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO subscriptions (id, user_id, plan, status, period_start, period_end, \
         state_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, status = excluded.status, \
         period_start = COALESCE(excluded.period_start, subscriptions.period_start), \
         period_end = COALESCE(excluded.period_end, subscriptions.period_end), \
         state_at = excluded.state_at, updated_at = excluded.updated_at \
         WHERE subscriptions.state_at <= excluded.state_at",
    )
    .bind(id)
    .bind(user)
    .bind(plan)
    .bind(status)
    .bind(start)
    .bind(end)
    .bind(at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(()); // a newer state is already recorded
    }
    let (plan, ends_at) = match status {
        "active" | "paid" | "trialing" | "scheduled_cancel" | "past_due" | "unpaid" => {
            (plan.to_owned(), None)
        }
        // Revoked: at the end of the period paid for, where Creem says it is still ahead.
        "canceled" | "expired" | "paused" => match end.filter(|&e| e > now) {
            Some(end) => (plan.to_owned(), Some(end)),
            None => (FREE_PLAN.to_owned(), None),
        },
        // An open enum: a state Lithos does not know changes nothing.
        _ => return Ok(()),
    };
    sqlx::query("UPDATE users SET plan = $1, plan_ends_at = $2 WHERE id = $3")
        .bind(plan)
        .bind(ends_at)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A refund or dispute's transaction and the payment it reverses.
struct Reversal {
    user: UserId,
    transaction: String,
    credits: i64,
    clawed_back: i64,
    amount_paid: i64,
}

async fn payment_of(conn: &mut AnyConnection, object: &Value) -> Result<Result2> {
    let transaction = object.get("transaction").cloned().unwrap_or(Value::Null);
    let Some(id) = id_of(&transaction) else {
        return Ok(Err(Applied::Ignored("it names no transaction".into())));
    };
    let row: Option<(UserId, i64, i64, i64)> = sqlx::query_as(
        "SELECT user_id, credits, clawed_back, amount_paid FROM payments WHERE transaction_id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((user, credits, clawed_back, paid)) = row else {
        // Its payment's own event has not arrived yet.
        return Ok(Err(Applied::Waiting(format!("transaction:{id}"))));
    };
    let amount_paid = integer(&transaction, "amount_paid").filter(|&a| a > 0).unwrap_or(paid);
    Ok(Ok(Reversal { user, transaction: id, credits, clawed_back, amount_paid }))
}

type Result2 = std::result::Result<Reversal, Applied>;

/// Takes back up to `want` credits of `payment` under `key`: as many as the balance holds.
/// Returns (taken, shortfall), or `None` when it was applied before.
async fn claw_back(
    conn: &mut AnyConnection,
    payment: &Reversal,
    want: i64,
    key: &str,
    reason: &str,
) -> Result<Option<(i64, i64)>> {
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(&payment.user)
        .fetch_one(&mut *conn)
        .await?;
    let taken = want.min(balance).max(0);
    if !credits::post_once(conn, &payment.user, Kind::Clawback, -taken, reason, key).await? {
        return Ok(None);
    }
    sqlx::query("UPDATE payments SET clawed_back = clawed_back + $1 WHERE transaction_id = $2")
        .bind(want)
        .bind(&payment.transaction)
        .execute(&mut *conn)
        .await?;
    Ok(Some((taken, want - taken)))
}

#[expect(clippy::too_many_arguments, reason = "one row")]
async fn record_reversal(
    conn: &mut AnyConnection,
    id: &str,
    kind: &str,
    payment: &Reversal,
    amount: i64,
    currency: &str,
    taken: i64,
    shortfall: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_reversals (id, kind, transaction_id, user_id, amount, currency, \
         credits, shortfall, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(kind)
    .bind(&payment.transaction)
    .bind(&payment.user)
    .bind(amount)
    .bind(currency)
    .bind(taken)
    .bind(shortfall)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn refund(conn: &mut AnyConnection, object: &Value) -> Result<Applied> {
    let Some(id) = text(object, "id").map(str::to_owned) else {
        return Ok(Applied::Ignored("the refund has no id".into()));
    };
    match text(object, "status") {
        Some("succeeded") => {}
        other => return Ok(Applied::Ignored(format!("the refund is {}", other.unwrap_or("?")))),
    }
    let payment = match payment_of(conn, object).await? {
        Ok(p) => p,
        Err(applied) => return Ok(applied),
    };
    let amount = integer(object, "refund_amount").unwrap_or(0).max(0);
    let remaining = payment.credits - payment.clawed_back;
    // Full: everything left; partial: the refunded share of what the payment granted.
    let share = if payment.amount_paid <= 0 || amount >= payment.amount_paid {
        payment.credits
    } else {
        (i128::from(payment.credits) * i128::from(amount) / i128::from(payment.amount_paid)) as i64
    };
    let want = share.min(remaining).max(0);
    let key = format!("creem:refund:{id}");
    let reason = format!("refund {id} of {}", payment.transaction);
    if let Some((taken, shortfall)) = claw_back(conn, &payment, want, &key, &reason).await? {
        let currency = text(object, "refund_currency").unwrap_or("");
        record_reversal(conn, &id, "refund", &payment, amount, currency, taken, shortfall).await?;
    }
    Ok(Applied::Done { woke: Vec::new() })
}

async fn dispute(conn: &mut AnyConnection, object: &Value) -> Result<Applied> {
    let Some(id) = text(object, "id").map(str::to_owned) else {
        return Ok(Applied::Ignored("the dispute has no id".into()));
    };
    let payment = match payment_of(conn, object).await? {
        Ok(p) => p,
        Err(applied) => return Ok(applied),
    };
    let want = (payment.credits - payment.clawed_back).max(0);
    let key = format!("creem:dispute:{id}");
    let reason = format!("dispute {id} of {}", payment.transaction);
    if let Some((taken, shortfall)) = claw_back(conn, &payment, want, &key, &reason).await? {
        let amount = integer(object, "amount").unwrap_or(0);
        let currency = text(object, "currency").unwrap_or("");
        record_reversal(conn, &id, "dispute", &payment, amount, currency, taken, shortfall).await?;
        if shortfall > 0 {
            sqlx::query(
                "UPDATE users SET billing_hold_at = $1, billing_hold_reason = $2 WHERE id = $3",
            )
            .bind(now_ms())
            .bind(format!(
                "a payment was disputed and {shortfall} of its credits were already spent"
            ))
            .bind(&payment.user)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(Applied::Done { woke: Vec::new() })
}
