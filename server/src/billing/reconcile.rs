//! Reconciliation: what Creem knows that the inbox missed (events that ran out of retries),
//! applied through the same idempotent path as webhooks. Lithos' own checkouts that never
//! completed are looked up by their Creem checkout id; subscription periods are found through
//! Creem's transactions search. Each is recorded in the inbox as a `reconcile:` event, so a
//! second run, or a late webhook, changes nothing.

use serde_json::json;

use super::creem::{Creem, CreemError};
use super::payload::{Event, id_of, text};
use crate::Db;
use crate::config::Billing;

/// What a run found and changed.
#[derive(Debug, Default)]
pub struct Report {
    pub checked: usize,
    /// One line per event applied.
    pub applied: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Creem(#[from] CreemError),
    #[error(transparent)]
    Database(#[from] crate::domain::DomainError),
}

impl From<sqlx::Error> for ReconcileError {
    fn from(e: sqlx::Error) -> Self {
        ReconcileError::Database(e.into())
    }
}

/// Pulls checkouts (created since `since`, epoch ms) and transactions from Creem and applies
/// what is missing.
pub async fn reconcile(db: &Db, billing: &Billing, since: i64) -> Result<Report, ReconcileError> {
    let creem = Creem::new(billing)?;
    let mut report = Report::default();
    let open: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, creem_checkout_id FROM checkouts WHERE status <> 'completed' \
         AND creem_checkout_id IS NOT NULL AND created_at >= $1",
    )
    .bind(since)
    .fetch_all(&db.pool)
    .await?;
    for (_, creem_id) in open {
        report.checked += 1;
        let checkout = creem.checkout(&creem_id).await?;
        if text(&checkout, "status") == Some("completed") {
            let event = Event {
                id: format!("reconcile:checkout:{creem_id}"),
                event_type: "checkout.completed".into(),
                created_at: None,
                object: checkout,
            };
            apply(db, billing, &event, &mut report).await?;
        }
    }
    let mut page = 1;
    loop {
        let answer = creem.transactions(page).await?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        for transaction in &items {
            report.checked += 1;
            let (Some(id), Some(sub)) =
                (id_of(transaction), transaction.get("subscription").and_then(id_of))
            else {
                continue;
            };
            if transaction["created_at"].as_i64().is_some_and(|t| t < since) {
                continue;
            }
            let known: Option<String> =
                sqlx::query_scalar("SELECT transaction_id FROM payments WHERE transaction_id = $1")
                    .bind(&id)
                    .fetch_optional(&db.pool)
                    .await?;
            if known.is_some() {
                continue;
            }
            // The period this transaction paid, as `subscription.paid` would have said it.
            let mut subscription = creem.get_subscription(&sub).await?;
            subscription["last_transaction_id"] = json!(id);
            subscription["last_transaction"] = transaction.clone();
            let event = Event {
                id: format!("reconcile:transaction:{id}"),
                event_type: "subscription.paid".into(),
                created_at: transaction.get("created_at").cloned(),
                object: subscription,
            };
            apply(db, billing, &event, &mut report).await?;
        }
        match answer["pagination"]["next_page"].as_u64() {
            Some(next) if !items.is_empty() && next as u32 > page => page = next as u32,
            _ => break,
        }
    }
    Ok(report)
}

async fn apply(
    db: &Db,
    billing: &Billing,
    event: &Event,
    report: &mut Report,
) -> Result<(), ReconcileError> {
    let payload = serde_json::to_string(&json!({
        "id": event.id, "eventType": event.event_type, "created_at": event.created_at,
        "object": event.object,
    }))
    .expect("JSON");
    if let Some(delivery) = super::inbox::record_new(db, billing, event, &payload).await? {
        report.applied.push(format!("{} {}: {delivery:?}", event.event_type, event.id));
    }
    Ok(())
}
