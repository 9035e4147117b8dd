//! The internal `ledger` function: applies money events (docs/ledger.md#internal-events).
//!
//! Input: one event, an array of events, or an SQS batch whose record bodies are
//! events. Events are applied one at a time, in order. For a direct invocation
//! the output is one result per event; for SQS it is the partial batch
//! response, naming each record that did not fully apply so that SQS retries
//! only those (already applied events of a retried record answer `duplicate`).

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use domain::event::split_events;
use serde_json::Value;
use shared::services::ledger::{apply_event_value, EventResult, EventStatus};
use shared::Ctx;

pub async fn handle(ctx: &Ctx, payload: Value) -> Value {
    if is_sqs_batch(&payload) {
        match serde_json::from_value::<SqsEvent>(payload) {
            Ok(batch) => to_json(&handle_sqs(ctx, batch).await),
            Err(err) => {
                tracing::error!(error = %err, "unreadable SQS batch");
                Value::Null
            }
        }
    } else {
        let events = match payload {
            Value::Array(items) => items,
            other => vec![other],
        };
        let mut results = Vec::with_capacity(events.len());
        for event in &events {
            results.push(apply_event_value(ctx, event).await);
        }
        to_json(&results)
    }
}

fn is_sqs_batch(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

pub async fn handle_sqs(ctx: &Ctx, batch: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in batch.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let ok = match record.body.as_deref().map(split_events) {
            Some(Ok(events)) if !events.is_empty() => {
                let mut all_ok = true;
                for event in &events {
                    let result = apply_event_value(ctx, event).await;
                    log_result(&message_id, &result);
                    all_ok &=
                        matches!(result.status, EventStatus::Applied | EventStatus::Duplicate);
                }
                all_ok
            }
            _ => {
                tracing::warn!(message_id, "SQS record without a readable event");
                false
            }
        };
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

fn log_result(message_id: &str, result: &EventResult) {
    tracing::info!(
        message_id,
        event_id = ?result.event_id,
        status = ?result.status,
        error = ?result.error,
        "event processed"
    );
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
