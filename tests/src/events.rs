//! Internal events (docs/ledger.md#internal-events): one constructor per kind ([`Event`]), and the
//! ledger applying them on a [`TestCtx`].

use crate::dynamo::TestCtx;
use serde_json::{json, Value};
use shared::services::ledger::{apply_event_value, EventResult, EventStatus};
use std::sync::atomic::{AtomicUsize, Ordering};

/// An event under construction: the fields of its kind, then optional ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Event(Value);

impl Event {
    fn new(kind: &str, user_id: i64, event_id: &str) -> Self {
        Self(json!({"kind": kind, "event_id": event_id, "user_id": user_id}))
    }

    fn money(kind: &str, user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::new(kind, user_id, event_id).set("amount", json!(amount))
    }

    /// A product earning, available at once (`hold_seconds` 0).
    pub fn product_earning(user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::money("product_earning", user_id, event_id, amount).hold_seconds(0)
    }

    /// An affiliate earning, available at once (`hold_seconds` 0).
    pub fn affiliate_earning(user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::money("affiliate_earning", user_id, event_id, amount).hold_seconds(0)
    }

    pub fn fee(user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::money("fee", user_id, event_id, amount)
    }

    pub fn refund(user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::money("refund", user_id, event_id, amount)
    }

    /// An operator hold of `amount` of the available balance.
    pub fn hold(user_id: i64, event_id: &str, amount: i64) -> Self {
        Self::money("hold", user_id, event_id, amount)
    }

    pub fn release_hold(user_id: i64, event_id: &str, hold_event_id: &str) -> Self {
        Self::new("release_hold", user_id, event_id).set("hold_event_id", json!(hold_event_id))
    }

    /// A product described by nothing but its id (add fields with [`Event::set`]).
    pub fn product_upsert(user_id: i64, event_id: &str, product_id: i64) -> Self {
        Self::new("product_upsert", user_id, event_id).product(product_id)
    }

    pub fn link_clicks(user_id: i64, event_id: &str, product_id: i64, count: i64) -> Self {
        Self::new("link_clicks", user_id, event_id)
            .product(product_id)
            .set("count", json!(count))
    }

    /// Sets any field.
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.0[field] = value;
        self
    }

    /// Sets every field of an object.
    pub fn merge(mut self, fields: Value) -> Self {
        for (k, v) in fields.as_object().expect("fields object") {
            self.0[k] = v.clone();
        }
        self
    }

    pub fn title(self, title: &str) -> Self {
        self.set("title", json!(title))
    }

    pub fn product(self, product_id: i64) -> Self {
        self.set("product_id", json!(product_id))
    }

    pub fn hold_seconds(self, seconds: i64) -> Self {
        self.set("hold_seconds", json!(seconds))
    }

    pub fn occurred_at(self, at: &str) -> Self {
        self.set("occurred_at", json!(at))
    }

    pub fn json(&self) -> &Value {
        &self.0
    }
}

impl From<Event> for Value {
    fn from(e: Event) -> Self {
        e.0
    }
}

static EVENT_IDS: AtomicUsize = AtomicUsize::new(0);

/// An event id never used before in this test run: `<prefix>_<n>`.
pub fn fresh_id(prefix: &str) -> String {
    format!("{prefix}_{}", EVENT_IDS.fetch_add(1, Ordering::SeqCst))
}

#[track_caller]
pub fn assert_applied(r: &EventResult) {
    assert_eq!(r.status, EventStatus::Applied, "{r:?}");
    assert_eq!(r.error, None, "{r:?}");
}

/// Refused for good (not retryable), with an error containing `message_part`.
#[track_caller]
pub fn assert_rejected(r: &EventResult, message_part: &str) {
    assert_eq!(r.status, EventStatus::Rejected, "{r:?}");
    assert!(
        r.status != EventStatus::Failed,
        "a refusal of the event is not a temporary failure: {r:?}"
    );
    let msg = r.error.as_deref().unwrap_or_default();
    assert!(
        msg.contains(message_part),
        "error {msg:?} should contain {message_part:?}"
    );
}

impl TestCtx {
    /// Applies one event (an [`Event`] or any JSON).
    pub async fn apply(&self, event: impl Into<Value>) -> EventResult {
        apply_event_value(self, &event.into()).await
    }

    /// Applies one event that must be applied.
    pub async fn applied(&self, event: impl Into<Value>) {
        let event = event.into();
        let r = apply_event_value(self, &event).await;
        assert_eq!(r.status, EventStatus::Applied, "{event} -> {r:?}");
        assert_eq!(r.error, None, "{event} -> {r:?}");
    }

    /// Applies the events all at once (one task each); their results in order.
    pub async fn apply_all(&self, events: Vec<impl Into<Value>>) -> Vec<EventResult> {
        let tasks: Vec<_> = events
            .into_iter()
            .map(|e| {
                let (ctx, event) = (self.clone(), e.into());
                tokio::spawn(async move { ctx.apply(event).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("apply task"));
        }
        results
    }

    /// A product earning available at once, applied.
    pub async fn earn(&self, user_id: i64, event_id: &str, amount: i64) {
        self.applied(Event::product_earning(user_id, event_id, amount))
            .await;
    }

    /// An earning of a product (a fresh event id), available at once: one unlock.
    pub async fn unlock(&self, user_id: i64, product_id: i64, amount: i64) {
        let id = fresh_id("pay");
        self.applied(Event::product_earning(user_id, &id, amount).product(product_id))
            .await;
    }

    /// `count` link clicks on a product (a fresh event id).
    pub async fn clicks(&self, user_id: i64, product_id: i64, count: i64) {
        let id = fresh_id("clk");
        self.applied(Event::link_clicks(user_id, &id, product_id, count))
            .await;
    }

    /// A `product_upsert` with these fields (a fresh event id).
    pub async fn upsert(&self, user_id: i64, product_id: i64, fields: Value) {
        let id = fresh_id("up");
        self.applied(Event::product_upsert(user_id, &id, product_id).merge(fields))
            .await;
    }

    /// A product with complete media titled `title`, `clicks` link clicks
    /// (no event if 0) and one [`TestCtx::unlock`] per amount of `earnings`.
    pub async fn product(
        &self,
        user_id: i64,
        product_id: i64,
        title: &str,
        clicks: i64,
        earnings: &[i64],
    ) {
        self.upsert(
            user_id,
            product_id,
            json!({"title": title, "media_complete": true}),
        )
        .await;
        if clicks > 0 {
            self.clicks(user_id, product_id, clicks).await;
        }
        for amount in earnings {
            self.unlock(user_id, product_id, *amount).await;
        }
    }
}
