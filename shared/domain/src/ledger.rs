//! The ledger: every change of a wallet is one immutable entry written in the
//! same DynamoDB transaction as the balance change (docs/ledger.md).
//!
//! The bucket rule of each entry type lives in [`EntryType::deltas`]; the
//! invariants every new state must keep live in [`next_balance`].

use crate::currency::Currency;
use crate::product::Analytics;

/// The type of a ledger entry (the `type` field of a transaction item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    ProductEarning,
    AffiliateEarning,
    ReleaseHold,
    Hold,
    Fee,
    Refund,
    Pending,
    Withdrawal,
    ReleasePending,
}

/// What an entry did, as shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Credit,
    Debit,
    Transfer,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "credit",
            Direction::Debit => "debit",
            Direction::Transfer => "transfer",
        }
    }
}

impl EntryType {
    pub const ALL: [EntryType; 9] = [
        EntryType::ProductEarning,
        EntryType::AffiliateEarning,
        EntryType::ReleaseHold,
        EntryType::Hold,
        EntryType::Fee,
        EntryType::Refund,
        EntryType::Pending,
        EntryType::Withdrawal,
        EntryType::ReleasePending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::ProductEarning => "product_earning",
            EntryType::AffiliateEarning => "affiliate_earning",
            EntryType::ReleaseHold => "release_hold",
            EntryType::Hold => "hold",
            EntryType::Fee => "fee",
            EntryType::Refund => "refund",
            EntryType::Pending => "pending",
            EntryType::Withdrawal => "withdrawal",
            EntryType::ReleasePending => "RELEASE_PENDING",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// Shown in the public transaction list (all but `RELEASE_PENDING`).
    pub fn is_public(self) -> bool {
        self != EntryType::ReleasePending
    }

    pub fn direction(self) -> Direction {
        match self {
            EntryType::ProductEarning | EntryType::AffiliateEarning => Direction::Credit,
            EntryType::Fee | EntryType::Refund | EntryType::Withdrawal => Direction::Debit,
            EntryType::ReleaseHold
            | EntryType::Hold
            | EntryType::Pending
            | EntryType::ReleasePending => Direction::Transfer,
        }
    }

    /// the table of docs/ledger.md#entry-types: what an entry of `amount` does to each bucket.
    /// `held` only matters for earnings (held earnings go to `hold`).
    pub fn deltas(self, amount: i64, held: bool) -> Deltas {
        let a = amount;
        let (available, hold, pending) = match self {
            EntryType::ProductEarning | EntryType::AffiliateEarning if held => (0, a, 0),
            EntryType::ProductEarning | EntryType::AffiliateEarning => (a, 0, 0),
            EntryType::ReleaseHold => (a, -a, 0),
            EntryType::Hold => (-a, a, 0),
            EntryType::Fee | EntryType::Refund => (-a, 0, 0),
            EntryType::Pending => (-a, 0, a),
            EntryType::Withdrawal => (0, 0, -a),
            EntryType::ReleasePending => (a, 0, -a),
        };
        Deltas {
            available,
            hold,
            pending,
        }
    }

    /// Only fees and refunds may take `available` below zero (a debt repaid
    /// by later earnings).
    pub fn may_overdraw_available(self) -> bool {
        matches!(self, EntryType::Fee | EntryType::Refund)
    }
}

/// The wallet buckets, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Balance {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
    pub referral_revenue: i64,
}

impl Balance {
    /// `available + hold + pending`, or `None` on overflow.
    pub fn total(&self) -> Option<i64> {
        self.available
            .checked_add(self.hold)?
            .checked_add(self.pending)
    }
}

/// One immutable ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub user_id: i64,
    pub entry_type: EntryType,
    /// Always positive; the sign is in the deltas.
    pub amount: i64,
    pub title: Option<String>,
    /// Epoch seconds, UTC.
    pub created_at: i64,
    pub currency: Currency,
    pub event_id: Option<String>,
    pub product_id: Option<i64>,
    pub payout_id: Option<i64>,
    /// What the entry did to each bucket (kept for audits and invariant checks).
    pub deltas: Deltas,
}

/// Signed change of each bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deltas {
    pub available: i64,
    pub hold: i64,
    pub pending: i64,
}

/// One change of one wallet, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub entry_type: EntryType,
    pub amount: i64,
    /// For earnings: goes to `hold` instead of `available`.
    pub held: bool,
    pub title: Option<String>,
    pub created_at: i64,
    pub event_id: Option<String>,
    pub product_id: Option<i64>,
    pub payout_id: Option<i64>,
    /// What the movement changes in the account's product counters.
    pub analytics: Analytics,
}

/// Why a movement cannot be applied to a wallet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("the amount must be positive")]
    NonPositiveAmount,
    #[error("insufficient available funds: available is {available}, {amount} needed")]
    InsufficientAvailable { available: i64, amount: i64 },
    #[error("the {bucket} bucket would become negative")]
    NegativeBucket { bucket: &'static str },
    #[error("the wallet balance would overflow")]
    Overflow,
}

/// The balance after an entry, or why the entry is not allowed. Checked
/// arithmetic; keeps the invariants of docs/ledger.md.
pub fn next_balance(
    balance: &Balance,
    entry_type: EntryType,
    amount: i64,
    held: bool,
) -> Result<Balance, BalanceError> {
    if amount <= 0 {
        return Err(BalanceError::NonPositiveAmount);
    }
    let d = entry_type.deltas(amount, held);
    let next = Balance {
        available: balance
            .available
            .checked_add(d.available)
            .ok_or(BalanceError::Overflow)?,
        hold: balance
            .hold
            .checked_add(d.hold)
            .ok_or(BalanceError::Overflow)?,
        pending: balance
            .pending
            .checked_add(d.pending)
            .ok_or(BalanceError::Overflow)?,
        referral_revenue: if entry_type == EntryType::AffiliateEarning {
            balance
                .referral_revenue
                .checked_add(amount)
                .ok_or(BalanceError::Overflow)?
        } else {
            balance.referral_revenue
        },
    };
    if d.available < 0 && next.available < 0 && !entry_type.may_overdraw_available() {
        return Err(BalanceError::InsufficientAvailable {
            available: balance.available,
            amount,
        });
    }
    if next.hold < 0 {
        return Err(BalanceError::NegativeBucket { bucket: "hold" });
    }
    if next.pending < 0 {
        return Err(BalanceError::NegativeBucket { bucket: "pending" });
    }
    next.total().ok_or(BalanceError::Overflow)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bal(available: i64, hold: i64, pending: i64) -> Balance {
        Balance {
            available,
            hold,
            pending,
            referral_revenue: 0,
        }
    }

    #[test]
    fn spec_table_of_deltas() {
        let d = |t: EntryType, held| {
            let d = t.deltas(7, held);
            (d.available, d.hold, d.pending)
        };
        assert_eq!(d(EntryType::ProductEarning, false), (7, 0, 0));
        assert_eq!(d(EntryType::AffiliateEarning, false), (7, 0, 0));
        assert_eq!(d(EntryType::ProductEarning, true), (0, 7, 0));
        assert_eq!(d(EntryType::AffiliateEarning, true), (0, 7, 0));
        assert_eq!(d(EntryType::ReleaseHold, false), (7, -7, 0));
        assert_eq!(d(EntryType::Hold, false), (-7, 7, 0));
        assert_eq!(d(EntryType::Fee, false), (-7, 0, 0));
        assert_eq!(d(EntryType::Refund, false), (-7, 0, 0));
        assert_eq!(d(EntryType::Pending, false), (-7, 0, 7));
        assert_eq!(d(EntryType::Withdrawal, false), (0, 0, -7));
        assert_eq!(d(EntryType::ReleasePending, false), (7, 0, -7));
    }

    #[test]
    fn directions_and_visibility() {
        assert_eq!(EntryType::ProductEarning.direction(), Direction::Credit);
        assert_eq!(EntryType::Fee.direction(), Direction::Debit);
        assert_eq!(EntryType::Withdrawal.direction(), Direction::Debit);
        assert_eq!(EntryType::Pending.direction(), Direction::Transfer);
        assert!(!EntryType::ReleasePending.is_public());
        assert_eq!(EntryType::ALL.iter().filter(|t| t.is_public()).count(), 8);
        for t in EntryType::ALL {
            assert_eq!(EntryType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn fees_may_overdraw_nothing_else_may() {
        assert_eq!(
            next_balance(&bal(10, 0, 0), EntryType::Fee, 15, false).map(|b| b.available),
            Ok(-5)
        );
        assert_eq!(
            next_balance(&bal(10, 0, 0), EntryType::Refund, 15, false).map(|b| b.available),
            Ok(-5)
        );
        assert_eq!(
            next_balance(&bal(10, 0, 0), EntryType::Hold, 15, false),
            Err(BalanceError::InsufficientAvailable {
                available: 10,
                amount: 15
            })
        );
        assert!(next_balance(&bal(10, 0, 0), EntryType::Hold, 10, false).is_ok());
        assert!(next_balance(&bal(10, 0, 0), EntryType::Pending, 11, false).is_err());
    }

    #[test]
    fn hold_and_pending_never_go_negative() {
        assert_eq!(
            next_balance(&bal(0, 5, 0), EntryType::ReleaseHold, 6, false),
            Err(BalanceError::NegativeBucket { bucket: "hold" })
        );
        assert_eq!(
            next_balance(&bal(0, 0, 5), EntryType::Withdrawal, 6, false),
            Err(BalanceError::NegativeBucket { bucket: "pending" })
        );
    }

    #[test]
    fn overflow_and_non_positive_amounts_are_refused() {
        assert_eq!(
            next_balance(&bal(i64::MAX, 0, 0), EntryType::ProductEarning, 1, false),
            Err(BalanceError::Overflow)
        );
        assert_eq!(
            next_balance(&bal(i64::MAX, 0, 0), EntryType::ProductEarning, 1, true),
            Err(BalanceError::Overflow)
        );
        assert_eq!(
            next_balance(&bal(0, 0, 0), EntryType::Fee, 0, false),
            Err(BalanceError::NonPositiveAmount)
        );
    }

    #[test]
    fn affiliate_earnings_count_as_referral_revenue() {
        let b = next_balance(&bal(0, 0, 0), EntryType::AffiliateEarning, 220, true).unwrap();
        assert_eq!((b.hold, b.referral_revenue), (220, 220));
        let b = next_balance(&b, EntryType::ProductEarning, 5, false).unwrap();
        assert_eq!(b.referral_revenue, 220);
    }
}
