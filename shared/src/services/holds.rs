//! The scheduled release of matured hold lots (`release-holds`, docs/ledger.md).
//! Lots due by `now` are found in the sparse due index (8 Queries, no scan);
//! each is released with one `release_hold` entry in one transaction that also
//! marks the lot released, so two runs at once release every lot once.

use crate::services::error::AppError;
use crate::store::codec::Decode;
use crate::store::item::s;
use crate::store::keys;
use crate::store::read::{query_all, read_account, read_lot};
use crate::store::retry::{retry_on_conflict, Attempt};
use crate::store::write::{commit, lot_release, CommitError};
use crate::store::Ctx;
use domain::ledger::{EntryType, Movement};
use domain::lot::Lot;
use serde::Serialize;

pub const RELEASE_TITLE: &str = "Hold released";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReleaseSummary {
    /// Lots released by this run.
    pub released: u64,
    /// Due lots another run (or a `release_hold` event) released first.
    pub already_released: u64,
}

/// Releases every lot whose release time is at or before `now` (epoch seconds).
pub async fn release_due_lots(ctx: &Ctx, now: i64) -> Result<ReleaseSummary, AppError> {
    let mut summary = ReleaseSummary::default();
    // Everything strictly below the next second's prefix is due by `now`.
    let upper = keys::due_lot_gsi_sk(now.saturating_add(1), 0, "");
    for shard in 0..keys::DUE_SHARDS {
        let due = query_all(|start| {
            ctx.db
                .query()
                .table_name(ctx.table())
                .index_name(keys::GSI1)
                .key_condition_expression("GSI1PK = :pk AND GSI1SK < :upper")
                .expression_attribute_values(":pk", s(keys::due_lot_gsi_pk(shard)))
                .expression_attribute_values(":upper", s(&upper))
                .set_exclusive_start_key(start)
        })
        .await?;
        for item in due {
            let lot = Lot::from_item(&item).map_err(AppError::internal)?;
            if release_lot(ctx, &lot, now).await? {
                summary.released += 1;
            } else {
                summary.already_released += 1;
            }
        }
    }
    Ok(summary)
}

/// Releases one lot. `Ok(false)` when it was already released.
///
/// Each attempt reads the account before the lot: a lot still unreleased then
/// is still in the `hold` that was read, so the release never computes a
/// negative hold; if another run releases it meanwhile, the version condition
/// sends us round again and the lot is then seen released.
pub async fn release_lot(ctx: &Ctx, due: &Lot, now: i64) -> Result<bool, AppError> {
    let entry_id = ctx.next_id().await?;
    retry_on_conflict(
        || format!("the wallet of user {}", due.user_id),
        |_| async move {
            let account = read_account(ctx, due.user_id).await?.ok_or_else(|| {
                AppError::internal(format!("lot of user {} without an account", due.user_id))
            })?;
            let lot = read_lot(ctx, due.user_id, &due.hold_event_id)
                .await?
                .ok_or_else(|| {
                    AppError::internal(format!("lot {:?} vanished", due.hold_event_id))
                })?;
            if lot.released {
                return Ok(Attempt::Done(false));
            }
            let movement = Movement {
                entry_type: EntryType::ReleaseHold,
                amount: lot.amount,
                held: false,
                title: Some(RELEASE_TITLE.to_owned()),
                created_at: now,
                event_id: None,
                product_id: None,
                payout_id: None,
                analytics: Default::default(),
            };
            let extras = vec![((), lot_release(ctx, lot.user_id, &lot.hold_event_id)?)];
            match commit(ctx, &account, &movement, entry_id, extras).await {
                Ok(_) => Ok(Attempt::Done(true)),
                Err(CommitError::ExtraConditionFailed(())) => Ok(Attempt::Done(false)),
                Err(CommitError::Conflict) => Ok(Attempt::Retry),
                Err(CommitError::Balance(err)) => Err(AppError::internal(err)),
                Err(CommitError::Store(err)) => Err(err.into()),
            }
        },
    )
    .await
}
