//! The internal `payout-admin` function: an operator approves or declines a payout.
//!
//! Input: `{"action": "approve", "payout_id": 7}` or
//! `{"action": "decline", "payout_id": 7, "reason": "IBAN rejected by the bank"}`.
//! Output: `{"payout_id", "status", "changed", "error"}`; `changed` is false when
//! the same decision was made before, `error` says why nothing happened.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::services::payouts::{decide, Decision, DecisionError, DecisionOutcome};
use shared::Ctx;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    action: String,
    payout_id: i64,
    reason: Option<String>,
}

pub async fn handle(ctx: &Ctx, payload: Value) -> Value {
    let request: Request = match serde_json::from_value(payload) {
        Ok(r) => r,
        Err(err) => return failure(None, format!("invalid request: {err}")),
    };
    let decision = match (request.action.as_str(), request.reason) {
        ("approve", None) => Decision::Approve,
        ("decline", Some(reason)) => Decision::Decline { reason },
        ("approve", Some(_)) => {
            return failure(
                Some(request.payout_id),
                "an approval takes no reason".into(),
            )
        }
        ("decline", None) => {
            return failure(Some(request.payout_id), "a decline needs a reason".into())
        }
        (other, _) => {
            return failure(
                Some(request.payout_id),
                format!("action must be approve or decline, not {other:?}"),
            )
        }
    };
    match decide(ctx, request.payout_id, decision).await {
        Ok(DecisionOutcome::Decided(p)) => {
            json!({"payout_id": p.payout_id, "status": p.status.as_str(), "changed": true, "error": null})
        }
        Ok(DecisionOutcome::AlreadyDecided(p)) => {
            json!({"payout_id": p.payout_id, "status": p.status.as_str(), "changed": false, "error": null})
        }
        Err(err) => {
            if let DecisionError::App(app) = &err {
                tracing::error!(error = %shared::services::error::cause_chain(app), "payout decision failed");
            }
            failure(Some(request.payout_id), err.to_string())
        }
    }
}

fn failure(payout_id: Option<i64>, error: String) -> Value {
    json!({"payout_id": payout_id, "status": null, "changed": false, "error": error})
}
