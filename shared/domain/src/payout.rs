//! Payouts: a creator's whole available balance, cashed out, then paid or
//! declined by an operator.

use crate::currency::Currency;

/// Where a payout is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    Requested,
    Paid,
    Declined,
}

impl PayoutStatus {
    pub const ALL: [PayoutStatus; 3] = [
        PayoutStatus::Requested,
        PayoutStatus::Paid,
        PayoutStatus::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Requested => "requested",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Declined => "declined",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A payout: the whole available balance a creator cashed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub payout_id: i64,
    pub user_id: i64,
    /// Position in the user's payout list (1-based).
    pub seq: i64,
    pub amount: i64,
    pub currency: Currency,
    pub status: PayoutStatus,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub decline_reason: Option<String>,
    /// The payout details at the time of the request.
    pub payout_details: Option<String>,
}
