//! Hold lots: money on hold that one `release_hold` entry releases, whole.

/// A hold lot: money on hold that one `release_hold` entry will release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub user_id: i64,
    pub hold_event_id: String,
    pub amount: i64,
    /// Epoch seconds when it matures; `None` for an operator hold.
    pub release_at: Option<i64>,
    pub released: bool,
}
