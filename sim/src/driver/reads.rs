//! The reads: every endpoint's answer compared in full with the model.

use super::http::{at, Answer};
use super::Sim;
use crate::model::catalog::Balance;
use lambda_http::{Body, Response};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::future::Future;

/// What a deleted account's token gets.
const UNAUTHENTICATED: (u16, &str) = (401, "Unauthenticated.");

/// The values at these JSON pointers, as an array (null where there is none).
fn fields(v: &Value, pointers: &[&str]) -> Value {
    Value::Array(pointers.iter().map(|p| at(v, p).clone()).collect())
}

impl Sim {
    /// Reads an endpoint and compares it with the model: 0 wallet,
    /// 1 affiliate, 2 payouts, 3 one payout, 4 summary, 5 aggregate,
    /// 6 aggregate with other bodies, 7 linked accounts.
    pub(super) async fn op_read(&mut self, ci: usize, which: u32) {
        match which {
            0 => self.read_wallet(ci).await,
            1 => self.read_affiliate(ci).await,
            2 => self.read_payouts(ci).await,
            3 => self.read_payout(ci).await,
            _ => self.read_dashboard(ci, which).await,
        }
    }

    async fn read_wallet(&mut self, ci: usize) {
        let w = self.wallet(ci);
        let Some(r) = self.request(ci, "GET", "/api/wallet", &[("limit", "5")], None, None) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(a) = self.read_ok("wallet", wallet::handle(&ctx, r)).await else {
            return;
        };
        let d = at(&a.json, "/data");
        let want = json!({
            "available": w.available, "hold": w.hold, "pending": w.pending,
            "total": w.total(), "referral_revenue": w.referral,
            "cashout_available": w.available > 0, "count": w.public_entries,
        });
        let got = json!({
            "available": at(d, "/available"), "hold": at(d, "/hold"),
            "pending": at(d, "/pending"), "total": at(d, "/total"),
            "referral_revenue": at(d, "/referral_revenue"),
            "cashout_available": at(d, "/cashout_available"),
            "count": at(d, "/transactions/total"),
        });
        self.same_as_model("wallet", got, want);
    }

    async fn read_affiliate(&mut self, ci: usize) {
        let w = self.wallet(ci);
        let Some(r) = self.request(ci, "GET", "/api/wallet/affiliate", &[], None, None) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(a) = self.read_ok("affiliate", affiliate::handle(&ctx, r)).await else {
            return;
        };
        let got = fields(
            &a.json,
            &["/data/referral_revenue", "/data/transactions/total"],
        );
        let want = json!([w.referral, w.affiliate_entries]);
        self.same_as_model("affiliate", got, want);
    }

    async fn read_payouts(&mut self, ci: usize) {
        let w = self.wallet(ci);
        let mut got = self.list_payouts(ci).await;
        if self.faulty {
            return;
        }
        got.sort();
        let mut want: Vec<(i64, i64, String)> = w
            .payouts
            .iter()
            .map(|p| (p.payout_id, p.amount, p.state.name().to_owned()))
            .collect();
        want.sort();
        if got != want {
            self.violation(format!("payouts read {got:?} != model {want:?}"));
        }
    }

    async fn read_payout(&mut self, ci: usize) {
        let w = self.wallet(ci);
        let Some(p) = w.payouts.choose(&mut self.rng).cloned() else {
            return;
        };
        let path = format!("/api/wallet/payouts/{}", p.payout_id);
        let Some(r) = self.request(ci, "GET", &path, &[], Some(p.payout_id), None) else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(a) = self.read_ok("payout", payouts::handle(&ctx, r)).await else {
            return;
        };
        let got = fields(&a.json, &["/data/id", "/data/amount", "/data/status"]);
        let want = json!([p.payout_id, p.amount, p.state.name()]);
        self.same_as_model("payout", got, want);
    }

    /// A read's answer if it is a 200; a refusal is allowed only under
    /// faults, with a 5xx.
    async fn read_ok<F>(&mut self, what: &str, fut: F) -> Option<Answer>
    where
        F: Future<Output = Response<Body>>,
    {
        let a = self.http(what, fut).await?;
        if a.status != 200 {
            if !(self.faulty && a.status >= 500) {
                self.violation(format!("{what} read refused: {} {}", a.status, a.body));
            }
            return None;
        }
        Some(a)
    }

    fn same_as_model(&mut self, what: &str, got: Value, want: Value) {
        if got != want {
            self.violation(format!("{what} read {got} != model {want}"));
        }
    }

    /// `which`: 4 summary, 5 aggregate with `{}`, 6 aggregate with another
    /// body (maybe by a link-only account), 7 linked accounts.
    async fn read_dashboard(&mut self, ci: usize, which: u32) {
        let ctx = self.ctx.clone();
        let mut bearer = self.uid(ci);
        if which >= 6 && self.rng.random_bool(0.3) {
            if let Some(s) = self.extra.spares.choose(&mut self.rng) {
                bearer = s.0;
            }
        }
        // A deleted account's token opens nothing.
        let gone = self.extra.cat.deleted.contains(&bearer);
        if gone {
            self.note("reads with a deleted account's token");
        }
        match which {
            4 => {
                let Some(r) = self.request_as(bearer, "GET", "/api/dashboard/summary", None) else {
                    return;
                };
                let balances = self.balances();
                let want = if gone {
                    Err(UNAUTHENTICATED)
                } else {
                    Ok(self.extra.cat.summary(&[bearer], balances))
                };
                if let Some(a) = self.http("summary", summary::handle(&ctx, r)).await {
                    self.compare_answer("summary", &a, want);
                }
            }
            5 | 6 => {
                let (body, want) = self.aggregate_body(bearer, which == 5);
                // The body is checked before the account (docs/decisions.md).
                let want = match want {
                    bad @ Err((400 | 422, _)) => bad,
                    _ if gone => Err(UNAUTHENTICATED),
                    other => other,
                };
                let path = "/api/dashboard/summary/aggregate";
                let Some(r) = self.request_as(bearer, "POST", path, Some(&body)) else {
                    return;
                };
                if let Some(a) = self.http("aggregate", aggregate::handle(&ctx, r)).await {
                    self.compare_answer(&format!("aggregate by {bearer} with {body}"), &a, want);
                }
            }
            _ => {
                let path = "/api/user/linked-accounts";
                let Some(r) = self.request_as(bearer, "GET", path, None) else {
                    return;
                };
                let want = if gone {
                    Err(UNAUTHENTICATED)
                } else {
                    Ok(self.extra.cat.linked_accounts(bearer))
                };
                if let Some(a) = self
                    .http("linked-accounts", linked_accounts::handle(&ctx, r))
                    .await
                {
                    self.compare_answer(&format!("linked accounts of {bearer}"), &a, want);
                }
            }
        }
    }

    /// The body of an aggregate by `bearer` (`{}` when `plain`, else a seeded
    /// one, valid or not) and the model's answer to it.
    fn aggregate_body(
        &mut self,
        bearer: i64,
        plain: bool,
    ) -> (String, Result<Value, (u16, &'static str)>) {
        let balances = self.balances();
        let cat = &self.extra.cat;
        if plain {
            return ("{}".to_owned(), cat.aggregate(bearer, false, balances));
        }
        let others: Vec<String> = self
            .all_accounts()
            .iter()
            .filter(|id| **id != bearer)
            .filter_map(|id| self.token_of(*id))
            .collect();
        let some: Vec<&String> = others.choose_multiple(&mut self.rng, 3).collect();
        let bad_json = (400, "The request body must be valid JSON.");
        let not_object = (422, "The request body must be a JSON object.");
        let bad_tokens = (422, "The additional tokens must be an array of strings.");
        match self.rng.random_range(0..9) {
            0 => (String::new(), cat.aggregate(bearer, false, balances)),
            1 => (
                r#"{"additional_tokens":null}"#.into(),
                cat.aggregate(bearer, false, balances),
            ),
            2 => (
                r#"{"additional_tokens":[]}"#.into(),
                cat.aggregate(bearer, true, balances),
            ),
            3 | 4 => (
                json!({"additional_tokens": some}).to_string(),
                cat.aggregate(bearer, true, balances),
            ),
            5 => ("{".into(), Err(bad_json)),
            6 => ("[1,2]".into(), Err(not_object)),
            7 => (r#"{"additional_tokens":"1|x"}"#.into(), Err(bad_tokens)),
            _ => (r#"{"additional_tokens":[1]}"#.into(), Err(bad_tokens)),
        }
    }

    /// The model's wallet buckets of every creator (zero for other accounts).
    fn balances(&self) -> impl Fn(i64) -> Balance {
        let balances: std::collections::BTreeMap<i64, Balance> = self
            .creators
            .iter()
            .map(|c| (c.user_id, Balance::of(&c.w)))
            .collect();
        move |id| balances.get(&id).copied().unwrap_or_default()
    }
}
