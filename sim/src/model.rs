//! The independent model: what every wallet must hold after each step,
//! computed from docs/ledger.md alone (no code shared with `shared::services`).

use std::collections::BTreeMap;

pub mod catalog;
pub mod dashboard;
pub mod links;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutState {
    Requested,
    Paid,
    Declined,
}

impl PayoutState {
    /// The status as the payouts endpoints show it.
    pub fn name(self) -> &'static str {
        match self {
            PayoutState::Requested => "requested",
            PayoutState::Paid => "paid",
            PayoutState::Declined => "declined",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLot {
    pub amount: i64,
    pub released: bool,
    /// A held earning (released by `release-holds`), not an operator hold.
    pub earning: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPayout {
    pub payout_id: i64,
    pub amount: i64,
    pub state: PayoutState,
}

/// A money event as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyEvent {
    Earning {
        affiliate: bool,
        held: bool,
        amount: i64,
    },
    Fee(i64),
    Refund(i64),
    Hold(i64),
    ReleaseHold(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wallet {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
    pub referral: i64,
    /// Public ledger entries (every entry but RELEASE_PENDING).
    pub public_entries: i64,
    pub affiliate_entries: i64,
    pub lots: BTreeMap<String, ModelLot>,
    pub payouts: Vec<ModelPayout>,
    /// Applied event ids.
    pub applied: BTreeMap<String, MoneyEvent>,
}

/// What the model expects of one event delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Applied,
    Duplicate,
    Rejected,
}

impl Wallet {
    pub fn total(&self) -> i64 {
        self.available + self.hold + self.pending
    }

    /// Applies one delivery of event `event_id`; returns what the ledger must answer.
    pub fn deliver(&mut self, event_id: &str, event: &MoneyEvent) -> Expect {
        if let Some(previous) = self.applied.get(event_id) {
            return if previous == event {
                Expect::Duplicate
            } else {
                Expect::Rejected
            };
        }
        match event {
            MoneyEvent::Earning {
                affiliate,
                held,
                amount,
            } => {
                if *held {
                    self.hold += amount;
                    self.lots.insert(
                        event_id.to_owned(),
                        ModelLot {
                            amount: *amount,
                            released: false,
                            earning: true,
                        },
                    );
                } else {
                    self.available += amount;
                }
                if *affiliate {
                    self.referral += amount;
                    self.affiliate_entries += 1;
                }
            }
            MoneyEvent::Fee(a) | MoneyEvent::Refund(a) => self.available -= a,
            MoneyEvent::Hold(a) => {
                if self.available - a < 0 {
                    return Expect::Rejected;
                }
                self.available -= a;
                self.hold += a;
                self.lots.insert(
                    event_id.to_owned(),
                    ModelLot {
                        amount: *a,
                        released: false,
                        earning: false,
                    },
                );
            }
            MoneyEvent::ReleaseHold(lot_id) => {
                if !self.release_lot(lot_id) {
                    return Expect::Rejected;
                }
                // release_lot counted the entry.
                self.applied.insert(event_id.to_owned(), event.clone());
                return Expect::Applied;
            }
        }
        self.public_entries += 1;
        self.applied.insert(event_id.to_owned(), event.clone());
        Expect::Applied
    }

    /// Releases one lot if it exists and is not released.
    pub fn release_lot(&mut self, lot_id: &str) -> bool {
        match self.lots.get_mut(lot_id) {
            Some(lot) if !lot.released => {
                lot.released = true;
                self.hold -= lot.amount;
                self.available += lot.amount;
                self.public_entries += 1;
                true
            }
            _ => false,
        }
    }

    /// A `release-holds` run far in the future: every held earning's lot. Returns how many.
    pub fn release_due(&mut self) -> u64 {
        let due: Vec<String> = self
            .lots
            .iter()
            .filter(|(_, l)| l.earning && !l.released)
            .map(|(k, _)| k.clone())
            .collect();
        for id in &due {
            self.release_lot(id);
        }
        due.len() as u64
    }

    /// Whether a cashout must succeed now (payout details are always set, minimum 1).
    pub fn cashout_allowed(&self) -> bool {
        self.available >= 1
    }

    pub fn cashout(&mut self, payout_id: i64) -> i64 {
        let amount = self.available;
        self.available = 0;
        self.pending += amount;
        self.public_entries += 1;
        self.payouts.push(ModelPayout {
            payout_id,
            amount,
            state: PayoutState::Requested,
        });
        amount
    }

    /// A decision; `Ok(true)` changed, `Ok(false)` same decision again, `Err` refused.
    pub fn decide(&mut self, payout_id: i64, approve: bool) -> Result<bool, ()> {
        let wanted = if approve {
            PayoutState::Paid
        } else {
            PayoutState::Declined
        };
        let Some(p) = self.payouts.iter_mut().find(|p| p.payout_id == payout_id) else {
            return Err(());
        };
        if p.state == wanted {
            return Ok(false);
        }
        if p.state != PayoutState::Requested {
            return Err(());
        }
        p.state = wanted;
        let amount = p.amount;
        self.pending -= amount;
        if approve {
            self.public_entries += 1;
        } else {
            self.available += amount;
        }
        Ok(true)
    }

    pub fn requested_sum(&self) -> i64 {
        self.payouts
            .iter()
            .filter(|p| p.state == PayoutState::Requested)
            .map(|p| p.amount)
            .sum()
    }

    pub fn unreleased_lots(&self) -> i64 {
        self.lots
            .values()
            .filter(|l| !l.released)
            .map(|l| l.amount)
            .sum()
    }

    /// The model's own invariants (docs/ledger.md), independent of the database.
    pub fn self_check(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.hold < 0 || self.pending < 0 {
            v.push(format!(
                "model: negative hold/pending {} {}",
                self.hold, self.pending
            ));
        }
        if self.pending != self.requested_sum() {
            v.push("model: pending != requested payouts".into());
        }
        if self.hold != self.unreleased_lots() {
            v.push("model: hold != unreleased lots".into());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earnings_holds_and_releases() {
        let mut w = Wallet::default();
        let e = MoneyEvent::Earning {
            affiliate: true,
            held: true,
            amount: 500,
        };
        assert_eq!(w.deliver("e1", &e), Expect::Applied);
        assert_eq!(w.deliver("e1", &e), Expect::Duplicate);
        assert_eq!(w.deliver("e1", &MoneyEvent::Fee(1)), Expect::Rejected);
        assert_eq!((w.available, w.hold, w.referral), (0, 500, 500));
        assert_eq!(w.deliver("h1", &MoneyEvent::Hold(1)), Expect::Rejected);
        assert_eq!(w.release_due(), 1);
        assert_eq!(w.release_due(), 0);
        assert_eq!((w.available, w.hold), (500, 0));
        assert_eq!(w.deliver("h1", &MoneyEvent::Hold(200)), Expect::Applied);
        let r = MoneyEvent::ReleaseHold("h1".into());
        assert_eq!(w.deliver("r1", &r), Expect::Applied);
        assert_eq!(w.deliver("r1", &r), Expect::Duplicate);
        let r2 = MoneyEvent::ReleaseHold("h1".into());
        assert_eq!(w.deliver("r2", &r2), Expect::Rejected);
        assert_eq!(w.public_entries, 4);
        assert!(w.self_check().is_empty());
    }

    #[test]
    fn cashouts_and_decisions() {
        let mut w = Wallet::default();
        w.deliver(
            "e",
            &MoneyEvent::Earning {
                affiliate: false,
                held: false,
                amount: 900,
            },
        );
        w.deliver("f", &MoneyEvent::Fee(100));
        assert!(w.cashout_allowed());
        assert_eq!(w.cashout(7), 800);
        assert!(!w.cashout_allowed());
        assert_eq!(w.pending, 800);
        assert_eq!(w.decide(7, false), Ok(true));
        assert_eq!(w.decide(7, false), Ok(false));
        assert_eq!(w.decide(7, true), Err(()));
        assert_eq!((w.available, w.pending), (800, 0));
        assert_eq!(w.cashout(8), 800);
        assert_eq!(w.decide(8, true), Ok(true));
        assert_eq!(w.total(), 0);
        w.deliver("r", &MoneyEvent::Refund(50));
        assert_eq!(w.available, -50);
        assert!(!w.cashout_allowed());
        assert!(w.self_check().is_empty());
    }
}
