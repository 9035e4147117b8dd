//! Cashouts (at once on one wallet, with and without Idempotency-Keys), their
//! replays, their resolution after a fault, and the payout decisions.

use super::http::{at, location_id, Answer};
use super::Sim;
use crate::model::PayoutState;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CASHOUT: &str = "/api/wallet/cashout";

/// The Idempotency-Key of each cashout and its answer (`None`: malformed).
type Answers = Vec<(Option<String>, Option<Answer>)>;

impl Sim {
    /// N cashouts at once on one wallet: none, one shared or distinct Idempotency-Keys.
    pub(super) async fn op_cashout(&mut self, ci: usize) {
        let n = self.rng.random_range(1..=6usize);
        let mode = self.rng.random_range(0..3);
        let shared_key = self.next_id("k");
        let keys: Vec<Option<String>> = (0..n)
            .map(|i| match mode {
                0 => None,
                1 => Some(shared_key.clone()),
                _ => Some(format!("{shared_key}-{i}")),
            })
            .collect();
        let reqs: Vec<_> = keys
            .iter()
            .filter_map(|k| self.request(ci, "POST", CASHOUT, &[], None, k.as_deref()))
            .collect();
        let ctx = self.ctx.clone();
        let futs = reqs
            .into_iter()
            .map(|r| {
                let ctx = ctx.clone();
                async move { cashout::handle(&ctx, r).await }
            })
            .collect();
        let Some(resps) = self.http_all("cashout", futs).await else {
            return;
        };
        let answers: Answers = keys.into_iter().zip(resps).collect();
        // Under faults a 409 may come from a key locked by the SDK's own retry
        // of the claim (see docs/reliability.md): the outcome is read back.
        let unsure = answers.iter().any(|(_, a)| {
            a.as_ref()
                .is_none_or(|a| a.status >= 500 || (self.faulty && a.status == 409))
        });
        let winners: BTreeSet<i64> = answers
            .iter()
            .filter_map(|(_, a)| a.as_ref())
            .filter(|a| a.status == 200)
            .filter_map(|a| location_id(a.location.as_deref()))
            .collect();
        if unsure {
            if mode != 1
                && answers
                    .iter()
                    .any(|(_, a)| a.as_ref().is_some_and(|a| a.status == 409))
            {
                self.note("a fresh Idempotency-Key answered 409 under faults (self-locked claim)");
            }
            self.resolve_cashout(ci, answers, winners).await;
            return;
        }
        self.check_cashouts(ci, mode, &answers, &winners);
    }

    /// Every answer is known: exactly one payout if funds are available, the
    /// same answer to the same key; the model follows.
    fn check_cashouts(&mut self, ci: usize, mode: u32, answers: &Answers, winners: &BTreeSet<i64>) {
        let allowed = self.allowed(ci);
        let mut first_body: Option<(String, Option<String>)> = None;
        for (k, a) in answers {
            let Some(a) = a else { continue };
            let refused_no_funds =
                a.status == 422 && *at(&a.json, "/errors_message") == json!("No available funds");
            let ok = match (allowed, a.status) {
                (true, 200) => true,
                (_, 409) => mode == 1,
                (_, 422) => refused_no_funds,
                _ => false,
            };
            if !ok {
                self.violation(format!(
                    "cashout (key {k:?}, allowed {allowed}): {} {}",
                    a.status, a.body
                ));
            }
            if a.status != 200 {
                continue;
            }
            match &first_body {
                None => first_body = Some((a.body.clone(), a.location.clone())),
                Some((b, l)) if mode == 1 && (*b != a.body || *l != a.location) => {
                    self.violation(format!(
                        "same-key cashouts answered differently: {b} {l:?} vs {} {:?}",
                        a.body, a.location
                    ));
                }
                Some(_) => {}
            }
        }
        match (allowed, winners.len()) {
            (true, 1) => {
                let Some(c) = self.creators.get_mut(ci) else {
                    return;
                };
                let Some(&id) = winners.iter().next() else {
                    return;
                };
                c.w.cashout(id);
                // The first keyed success, to replay later.
                let first_key = answers.iter().find_map(|(k, a)| match (k, a) {
                    (Some(k), Some(a)) if a.status == 200 => Some(k.clone()),
                    _ => None,
                });
                if let (Some((body, location)), Some(k), true) = (first_body, first_key, mode != 0)
                {
                    c.keyed.push((k, body, location));
                }
            }
            (false, 0) => {}
            (_, w) => self.violation(format!(
                "{} parallel cashouts (mode {mode}, allowed {allowed}) made {w} payouts: {winners:?}",
                answers.len()
            )),
        }
    }

    /// Whether the model lets creator `ci` cash out now.
    fn allowed(&self, ci: usize) -> bool {
        self.creators.get(ci).is_some_and(|c| c.w.cashout_allowed())
    }

    /// After a cashout with an unknown outcome: faults off, retry the keyed
    /// ones, then read the payouts to learn what happened.
    async fn resolve_cashout(&mut self, ci: usize, answers: Answers, mut winners: BTreeSet<i64>) {
        self.note("cashouts resolved after a fault");
        let was = self.faults_off();
        let keys: BTreeSet<String> = answers.into_iter().filter_map(|(k, _)| k).collect();
        for k in keys {
            let Some(r) = self.request(ci, "POST", CASHOUT, &[], None, Some(&k)) else {
                continue;
            };
            let ctx = self.ctx.clone();
            if let Some(a) = self.http("cashout retry", cashout::handle(&ctx, r)).await {
                if a.status == 200 {
                    winners.extend(location_id(a.location.as_deref()));
                }
            }
        }
        let known: BTreeSet<i64> = self.wallet_payouts(ci).iter().map(|(id, _)| *id).collect();
        let listed = self.list_payouts(ci).await;
        let new: Vec<(i64, i64)> = listed
            .iter()
            .filter(|(id, _, _)| !known.contains(id))
            .map(|(id, amount, _)| (*id, *amount))
            .collect();
        let allowed = self.allowed(ci);
        match new.as_slice() {
            [] if winners.is_empty() => {}
            [(id, amount)] if allowed && winners.iter().all(|w| w == id) => {
                let want = self.creators.get_mut(ci).map(|c| c.w.cashout(*id));
                if want != Some(*amount) {
                    self.violation(format!("payout {id} of {amount}, model {want:?}"));
                }
            }
            _ => self.violation(format!(
                "cashouts under faults: new payouts {new:?}, answered {winners:?}, allowed {allowed}"
            )),
        }
        self.faulty = was;
    }

    /// (id, amount) of the model's payouts of creator `ci`.
    fn wallet_payouts(&self, ci: usize) -> Vec<(i64, i64)> {
        self.creators
            .get(ci)
            .map(|c| {
                c.w.payouts
                    .iter()
                    .map(|p| (p.payout_id, p.amount))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// (id, amount, status) of every payout of a creator, read through the handler.
    pub(super) async fn list_payouts(&mut self, ci: usize) -> Vec<(i64, i64, String)> {
        let mut all = Vec::new();
        for page in 1..=50 {
            let p = page.to_string();
            let query = [("page", p.as_str()), ("limit", "100")];
            let Some(r) = self.request(ci, "GET", "/api/wallet/payouts", &query, None, None) else {
                break;
            };
            let ctx = self.ctx.clone();
            let Some(a) = self.http("payouts", payouts::handle(&ctx, r)).await else {
                break;
            };
            if a.status != 200 {
                break;
            }
            if let Some(data) = at(&a.json, "/data/data").as_array() {
                for p in data {
                    all.push((
                        at(p, "/id").as_i64().unwrap_or(0),
                        at(p, "/amount").as_i64().unwrap_or(0),
                        at(p, "/status").as_str().unwrap_or("?").to_owned(),
                    ));
                }
            }
            if at(&a.json, "/data/last_page").as_i64().unwrap_or(0) <= page {
                break;
            }
        }
        all
    }

    /// A keyed cashout that succeeded, again: the same answer.
    pub(super) async fn op_cashout_replay(&mut self, ci: usize) {
        let Some(c) = self.creators.get(ci) else {
            return;
        };
        let Some((key, body, location)) = c.keyed.choose(&mut self.rng).cloned() else {
            return;
        };
        let Some(r) = self.request(ci, "POST", CASHOUT, &[], None, Some(&key)) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(a) = self.http("cashout replay", cashout::handle(&ctx, r)).await else {
            return;
        };
        if a.status >= 500 && self.faulty {
            return;
        }
        if a.status != 200 || a.body != body || a.location != location {
            self.violation(format!(
                "replay of key {key}: {} {} {:?}, first {body} {location:?}",
                a.status, a.body, a.location
            ));
        }
    }

    /// A payout decision (approve or decline), sometimes twice at once,
    /// mostly on a requested payout, sometimes on a decided one again.
    pub(super) async fn op_decide(&mut self, ci: usize) {
        let Some(payouts) = self.creators.get(ci).map(|c| c.w.payouts.clone()) else {
            return;
        };
        let requested: Vec<_> = payouts
            .iter()
            .filter(|p| p.state == PayoutState::Requested)
            .collect();
        let pick = if !requested.is_empty() && self.rng.random_bool(0.8) {
            requested.choose(&mut self.rng).map(|p| p.payout_id)
        } else {
            payouts.choose(&mut self.rng).map(|p| p.payout_id)
        };
        let Some(id) = pick else { return };
        let approve = self.rng.random_bool(0.6);
        let payload = if approve {
            json!({"action": "approve", "payout_id": id})
        } else {
            json!({"action": "decline", "payout_id": id, "reason": "Bank refused"})
        };
        let twice = self.rng.random_bool(0.2);
        let ctx = self.ctx.clone();
        let Some(mut outs) = self
            .timed("payout-admin", async {
                if twice {
                    // The same decision twice at once.
                    let (a, b) = tokio::join!(
                        payout_admin::handle(&ctx, payload.clone()),
                        payout_admin::handle(&ctx, payload.clone())
                    );
                    vec![a, b]
                } else {
                    vec![payout_admin::handle(&ctx, payload.clone()).await]
                }
            })
            .await
        else {
            return;
        };
        let failed = |o: &Value| at(o, "/error").is_string();
        let Some(model) = self.creators.get_mut(ci).map(|c| c.w.decide(id, approve)) else {
            return;
        };
        if outs.iter().any(failed) && model.is_ok() {
            if !self.faulty {
                self.violation(format!("decision on {id} failed without faults: {outs:?}"));
                return;
            }
            // Unknown outcome: the same decision again, faults off.
            self.note("decisions retried after a fault");
            self.proxy.arm(None);
            let again = payout_admin::handle(&ctx, payload.clone());
            if let Some(o) = self.timed("payout-admin", again).await {
                outs = vec![o];
            }
        }
        self.check_decisions(id, &payload, approve, model, &outs);
    }

    /// The answers of a decision against the model's (`model`: changed, the
    /// same decision again, or refused).
    fn check_decisions(
        &mut self,
        id: i64,
        payload: &Value,
        approve: bool,
        model: Result<bool, ()>,
        outs: &[Value],
    ) {
        let wanted = if approve { "paid" } else { "declined" };
        let changed = outs
            .iter()
            .filter(|o| *at(o, "/changed") == json!(true))
            .count();
        for o in outs {
            let ok = if model.is_err() {
                at(o, "/error").is_string() && *at(o, "/changed") == json!(false)
            } else {
                at(o, "/error").is_null() && *at(o, "/status") == json!(wanted)
            };
            if !ok {
                self.violation(format!(
                    "decision {payload} on {id}: model {model:?}, got {o}"
                ));
            }
        }
        let want_changed = usize::from(model == Ok(true));
        // After a retry the first (faulted) attempt may have made the change.
        if changed != want_changed && !(self.faulty && changed == 0) {
            self.violation(format!(
                "decision on {id} changed {changed} times, model {want_changed}"
            ));
        }
    }
}
