//! The internal, scheduled `release-holds` function: releases every hold lot
//! whose time has come (docs/ledger.md). The schedule's event is ignored, except
//! an optional `"now"` (RFC 3339) to release as of another time.

use domain::time::{now_epoch, parse_rfc3339};
use serde_json::{json, Value};
use shared::services::holds::release_due_lots;
use shared::Ctx;

pub async fn handle(ctx: &Ctx, payload: Value) -> Value {
    let now = match payload.get("now").and_then(Value::as_str) {
        Some(text) => match parse_rfc3339(text) {
            Some(now) => now,
            None => return json!({"error": "now must be an RFC 3339 time"}),
        },
        None => now_epoch(),
    };
    match release_due_lots(ctx, now).await {
        Ok(summary) => {
            tracing::info!(
                released = summary.released,
                already = summary.already_released,
                "holds released"
            );
            json!({"released": summary.released, "already_released": summary.already_released})
        }
        Err(err) => {
            tracing::error!(error = %shared::services::error::cause_chain(&err), "releasing holds failed");
            json!({"error": "releasing holds failed; the next run tries again"})
        }
    }
}
