//! Creem's webhook payloads, shaped as its documentation's examples, field for field.

use serde_json::{Value, json};

pub fn product(id: &str, recurring: bool) -> Value {
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

pub fn customer(id: &str) -> Value {
    json!({
        "id": id, "object": "customer", "email": "buyer@example.org", "name": "Buyer",
        "country": "NL", "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z", "mode": "test"
    })
}

pub fn transaction(id: &str, amount_paid: i64, status: &str) -> Value {
    json!({
        "id": id, "object": "transaction", "amount": amount_paid, "amount_paid": amount_paid,
        "currency": "EUR", "type": "payment", "tax_country": "NL", "tax_amount": 0,
        "status": status, "refunded_amount": null, "order": "ord_x", "subscription": null,
        "customer": "cust_x", "description": null, "period_start": null, "period_end": null,
        "created_at": 1_767_225_600_000_i64, "mode": "test"
    })
}

pub fn event(id: &str, kind: &str, created_at: i64, object: Value) -> Value {
    json!({ "id": id, "eventType": kind, "created_at": created_at, "object": object })
}

/// `checkout.completed` for `units` of a pack, as Creem's documented example has it.
pub fn pack_checkout(
    evt: &str,
    user: &str,
    cust: &str,
    order: &str,
    txn: &str,
    units: i64,
) -> Value {
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
pub fn subscription(
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

pub fn sub_checkout(evt: &str, user: &str, sub: &str, cust: &str) -> Value {
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

pub fn refund(evt: &str, id: &str, txn: &str, amount: i64, paid: i64) -> Value {
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

pub fn dispute(evt: &str, id: &str, txn: &str, paid: i64) -> Value {
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
