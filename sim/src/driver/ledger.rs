//! Deliveries to the `ledger` function and their settlement against the
//! model: each result in order, and what failed for a moment resolved from
//! the stored event records and delivered again with faults off, as SQS would.

use super::{Ev, Sim};
use crate::model::Expect;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::store::keys;

/// Whether a result is a temporary failure (the event may or may not be applied).
fn temporary(r: &Value) -> bool {
    status(r) == "failed"
}

/// The status of a result (`?` if none).
pub(super) fn status(r: &Value) -> &str {
    r.get("status").and_then(Value::as_str).unwrap_or("?")
}

impl Sim {
    /// Sends events to the `ledger` function as one delivery (an object, or an
    /// array for several); its results, one per event (`None`: no answer in
    /// time, or another number of results, a violation).
    pub(super) async fn send_to_ledger<M>(
        &mut self,
        batch: &[(String, Value, M)],
    ) -> Option<Vec<Value>> {
        let payload = match batch {
            [one] => one.1.clone(),
            many => Value::Array(many.iter().map(|e| e.1.clone()).collect()),
        };
        let ctx = self.ctx.clone();
        let out = self.timed("ledger", ledger::handle(&ctx, payload)).await?;
        let results = out.as_array().cloned().unwrap_or_default();
        if results.len() != batch.len() {
            self.violation(format!("ledger answered {out} for {} events", batch.len()));
            return None;
        }
        Some(results)
    }

    /// The model's answer to one delivery (`None`: not a creator's event).
    pub(super) fn model_deliver(&mut self, e: &Ev) -> Option<Expect> {
        let ci = self.ci_of(e.2.user_id)?;
        let Sim {
            creators, extra, ..
        } = self;
        let w = &mut creators.get_mut(ci)?.w;
        Some(extra.cat.deliver(w, &e.0, &e.2))
    }

    /// Checks the results of a batch against the model, in order. A batch in
    /// which some events failed for a moment (`note` counts them) is walked
    /// with faults off: whether a failed event was applied is read from its
    /// event record (the later events of the batch saw it or not), and the
    /// ones not applied are delivered again at the end.
    pub(super) async fn settle(&mut self, batch: &[Ev], results: &[Value], note: &str) {
        let any_temporary = results.iter().any(temporary);
        let was = self.faulty;
        if any_temporary {
            if !self.faulty {
                self.violation(format!(
                    "temporary failure without faults: {}",
                    Value::Array(results.to_vec())
                ));
            }
            self.note(note);
            self.faults_off();
        }
        let mut again = Vec::new();
        for (i, (e, r)) in batch.iter().zip(results).enumerate() {
            if !temporary(r) {
                self.check_result(e, r, was || any_temporary);
            } else if batch.iter().skip(i + 1).any(|later| later.0 == e.0) {
                // The later copy of the same event settles it (applied, or
                // duplicate if this one had in fact been applied).
            } else if !self.resolve_applied(e).await {
                again.push(e.clone());
            }
        }
        for e in again {
            let Some(got) = self.redeliver(&e.1).await else {
                break;
            };
            let expect = self.model_deliver(&e);
            let ok = match expect {
                Some(Expect::Applied) => got == "applied",
                Some(Expect::Duplicate) => got == "duplicate",
                Some(Expect::Rejected) => got == "rejected",
                None => false,
            };
            if !ok {
                self.violation(format!(
                    "redelivery of {} ({:?}): model {expect:?}, ledger answered {got}",
                    e.0, e.2
                ));
            }
        }
        self.faulty = was;
    }

    /// One result against the model; `retried`: a first delivery may answer
    /// `duplicate` (an SDK retry of a commit that had succeeded).
    fn check_result(&mut self, e: &Ev, r: &Value, retried: bool) {
        let got = status(r);
        let expect = self.model_deliver(e);
        let ok = match expect {
            Some(Expect::Applied) => got == "applied" || (retried && got == "duplicate"),
            Some(Expect::Duplicate) => got == "duplicate",
            Some(Expect::Rejected) => got == "rejected",
            None => false,
        };
        if ok && expect == Some(Expect::Applied) && got == "duplicate" {
            self.note("first delivery answered duplicate (SDK retry of a committed write)");
        }
        if !ok {
            self.violation(format!(
                "event {} ({:?}): model {expect:?}, ledger {r}",
                e.0, e.2
            ));
        }
    }

    /// An event whose delivery failed for a moment: if its record exists it
    /// was applied (the model applies it too). Whether it was.
    async fn resolve_applied(&mut self, e: &Ev) -> bool {
        let recorded = self.event_recorded(&e.0).await;
        let known = self.extra.cat.applied.contains_key(&e.0)
            || self
                .ci_of(e.2.user_id)
                .and_then(|ci| self.creators.get(ci))
                .is_some_and(|c| c.w.applied.contains_key(&e.0));
        if recorded && !known {
            let expect = self.model_deliver(e);
            if expect != Some(Expect::Applied) {
                self.violation(format!(
                    "event {} ({:?}) was recorded but the model says {expect:?}",
                    e.0, e.2
                ));
            }
        }
        recorded
    }

    /// Delivers one event again, on its own; the status the ledger answered.
    pub(super) async fn redeliver(&mut self, payload: &Value) -> Option<String> {
        let ctx = self.ctx.clone();
        let out = self
            .timed("ledger", ledger::handle(&ctx, payload.clone()))
            .await?;
        Some(out.get(0).map_or("?", status).to_owned())
    }

    /// Whether the event record of `event_id` exists (read with faults off).
    async fn event_recorded(&mut self, event_id: &str) -> bool {
        let out = self
            .ctx
            .db
            .get_item()
            .table_name(self.ctx.table())
            .key(keys::PK, AttributeValue::S(keys::event_pk(event_id)))
            .key(keys::SK, AttributeValue::S(keys::EVENT_SK.to_owned()))
            .consistent_read(true)
            .send()
            .await;
        match out {
            Ok(o) => o.item.is_some(),
            Err(e) => {
                self.violation(format!("event record {event_id} unreadable: {e}"));
                false
            }
        }
    }
}
