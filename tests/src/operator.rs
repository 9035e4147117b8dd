//! The operator's functions: `payout-admin` decisions and `release-holds`
//! runs, and a cashout whose payout the operator then decides.

use crate::dynamo::TestCtx;
use crate::http::{assert_created, load_event};
use serde_json::{json, Value};

/// A `payout-admin` input from its sample event, for `payout_id`.
pub fn admin_event(name: &str, payout_id: i64) -> Value {
    let mut v = load_event(name);
    v["payout_id"] = json!(payout_id);
    v
}

/// The output of a decision that was made (`changed`) or was already made.
pub fn decided(payout_id: i64, status: &str, changed: bool) -> Value {
    json!({"payout_id": payout_id, "status": status, "changed": changed, "error": null})
}

/// The output of a refused decision.
pub fn admin_refused(payout_id: Option<i64>, error: &str) -> Value {
    json!({"payout_id": payout_id, "status": null, "changed": false, "error": error})
}

impl TestCtx {
    /// `payout-admin` with any input.
    pub async fn admin(&self, input: Value) -> Value {
        payout_admin::handle(self, input).await
    }

    /// Approves a payout (`events/payout-admin_approve.json`).
    pub async fn approve(&self, payout_id: i64) -> Value {
        self.admin(admin_event("payout-admin_approve", payout_id))
            .await
    }

    /// Declines a payout (`events/payout-admin_decline.json`) for `reason`.
    pub async fn decline(&self, payout_id: i64, reason: &str) -> Value {
        let mut v = admin_event("payout-admin_decline", payout_id);
        v["reason"] = json!(reason);
        self.admin(v).await
    }

    /// `release-holds` with any input.
    pub async fn release_holds(&self, input: Value) -> Value {
        release_holds::handle(self, input).await
    }

    /// A cashout that must succeed (`events/cashout_ok.json`): its payout id.
    pub async fn cash_out(&self, token: &str) -> i64 {
        assert_created(&self.cashout(token, None).await)
    }
}
