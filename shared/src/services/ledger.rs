//! The ledger's events: each parsed, checked against its dedup record and
//! applied as one transaction (the store's [`commit`]), at most once.

use crate::services::error::{cause_chain, AppError};
use crate::store::codec::{product_attr, Record};
use crate::store::item::n;
use crate::store::keys::Key;
use crate::store::read::{get, read_account, read_lot, read_product};
use crate::store::retry::{retry_on_conflict, Attempt};
use crate::store::write::{commit, commit_analytics, lot_release, put_new, CommitError};
use crate::store::{Ctx, StoreError};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use domain::event::{event_id_of, parse_event, Event, EventBody, EventRecord, InvalidEvent};
use domain::ledger::{EntryType, Movement};
use domain::lot::Lot;
use domain::product::{Analytics, Product};
use domain::time::now_epoch;
use serde::Serialize;
use serde_json::Value;

/// The outcome of one event, as `walletctl event` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventResult {
    pub event_id: Option<String>,
    pub status: EventStatus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Applied,
    /// The same `event_id` and payload were applied before: nothing done.
    Duplicate,
    /// Refused for good (invalid, or against a rule): nothing done.
    Rejected,
    /// A temporary failure (throttled, too busy, the store unreachable):
    /// nothing done, the same event may succeed when delivered again.
    Failed,
}

/// Why an event was not applied.
#[derive(Debug)]
pub enum EventError {
    Rejected(String),
    Failed(AppError),
}

impl From<AppError> for EventError {
    fn from(err: AppError) -> Self {
        EventError::Failed(err)
    }
}

impl From<StoreError> for EventError {
    fn from(err: StoreError) -> Self {
        EventError::Failed(err.into())
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for EventError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::from(err).into()
    }
}

impl From<InvalidEvent> for EventError {
    fn from(err: InvalidEvent) -> Self {
        EventError::Rejected(err.0)
    }
}

/// Parses and applies one event (docs/ledger.md#internal-events). Never panics, never
/// applies an event twice; a refused event changes nothing.
pub async fn apply_event_value(ctx: &Ctx, value: &Value) -> EventResult {
    let event_id = event_id_of(value);
    let outcome = match parse_event(value) {
        Ok(event) => apply_event(ctx, &event).await,
        Err(invalid) => Err(invalid.into()),
    };
    match outcome {
        Ok(status) => EventResult {
            event_id,
            status,
            error: None,
        },
        Err(EventError::Rejected(message)) => EventResult {
            event_id,
            status: EventStatus::Rejected,
            error: Some(message),
        },
        Err(EventError::Failed(err)) => {
            let chain = cause_chain(&err);
            tracing::error!(event_id = ?event_id, error = %chain, "event failed");
            EventResult {
                event_id,
                status: EventStatus::Failed,
                error: Some(format!("temporary failure, retry later: {chain}")),
            }
        }
    }
}

/// Which extra item of an event's transaction failed its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventItem {
    Record,
    NewLot,
    ReleasedLot,
    Product,
}

pub async fn apply_event(ctx: &Ctx, event: &Event) -> Result<EventStatus, EventError> {
    // The replay check and the first account read do not depend on each other:
    // one round trip for both (the account read is wasted on a duplicate). The
    // account is still read before anything `plan` reads (a lot, a product).
    let (replay, first_read) =
        tokio::join!(check_replay(ctx, event), read_account(ctx, event.user_id));
    if let Some(status) = replay? {
        return Ok(status);
    }
    let entry_id = ctx.next_id().await?;
    let mut first_read = Some(first_read);
    retry_on_conflict(
        || format!("the wallet of user {}", event.user_id),
        |_| {
            let first_read = first_read.take();
            async move {
                let read = match first_read {
                    Some(read) => read,
                    None => read_account(ctx, event.user_id).await,
                };
                let account = domain::account::live(read?).ok_or_else(|| {
                    EventError::Rejected(format!(
                        "user {} does not exist or is deleted",
                        event.user_id
                    ))
                })?;
                let now = now_epoch();
                let (movement, lot_item) = plan(ctx, event, now).await?;
                let product = product_change(ctx, event).await?;
                let record = EventRecord {
                    event_id: event.event_id.clone(),
                    payload_sha256: event.payload_sha256.clone(),
                    user_id: event.user_id,
                    entry_id: movement.as_ref().map(|_| entry_id),
                    applied_at: now,
                };
                let mut extras = vec![(EventItem::Record, put_new(ctx, record.to_item())?)];
                extras.extend(lot_item);
                let analytics = match product {
                    Some((analytics, item)) => {
                        extras.push((EventItem::Product, item));
                        analytics
                    }
                    None => Analytics::default(),
                };
                let outcome = match movement {
                    Some(mut movement) => {
                        movement.analytics = analytics;
                        commit(ctx, &account, &movement, entry_id, extras)
                            .await
                            .map(|_| ())
                    }
                    None => commit_analytics(ctx, account.user_id, &analytics, extras).await,
                };
                match outcome {
                    Ok(()) => Ok(Attempt::Done(EventStatus::Applied)),
                    Err(CommitError::Conflict)
                    | Err(CommitError::ExtraConditionFailed(
                        EventItem::NewLot | EventItem::Product,
                    )) => Ok(Attempt::Retry),
                    Err(CommitError::ExtraConditionFailed(EventItem::Record)) => {
                        match check_replay(ctx, event).await? {
                            Some(status) => Ok(Attempt::Done(status)),
                            None => Ok(Attempt::Retry),
                        }
                    }
                    Err(CommitError::ExtraConditionFailed(EventItem::ReleasedLot)) => {
                        match &event.body {
                            EventBody::ReleaseHold { hold_event_id, .. } => {
                                Err(EventError::Rejected(format!(
                                    "hold lot {hold_event_id:?} is already released"
                                )))
                            }
                            _ => Ok(Attempt::Retry),
                        }
                    }
                    Err(CommitError::Balance(err)) => Err(EventError::Rejected(err.to_string())),
                    Err(CommitError::Store(err)) => Err(EventError::Failed(err.into())),
                }
            }
        },
    )
    .await
}

/// `Some` when this event id was applied before: a duplicate if the payload
/// is the same, refused otherwise.
async fn check_replay(ctx: &Ctx, event: &Event) -> Result<Option<EventStatus>, EventError> {
    let Some(record) = get::<EventRecord>(ctx, Key::event(&event.event_id)).await? else {
        return Ok(None);
    };
    if record.payload_sha256 == event.payload_sha256 {
        Ok(Some(EventStatus::Duplicate))
    } else {
        Err(EventError::Rejected(format!(
            "event_id {:?} was already used with a different payload",
            event.event_id
        )))
    }
}

/// The movement an event makes (none for product analytics events) and the
/// lot item that goes with it.
async fn plan(
    ctx: &Ctx,
    event: &Event,
    now: i64,
) -> Result<(Option<Movement>, Option<(EventItem, TransactWriteItem)>), EventError> {
    let movement =
        |entry_type, amount, held, title: &Option<String>, at: &Option<i64>, product_id| {
            Some(Movement {
                entry_type,
                amount,
                held,
                title: title.clone(),
                created_at: at.unwrap_or(now),
                event_id: Some(event.event_id.clone()),
                product_id,
                payout_id: None,
                analytics: Analytics::default(),
            })
        };
    let new_lot = |amount, release_at| -> Result<_, AppError> {
        let lot = Lot {
            user_id: event.user_id,
            hold_event_id: event.event_id.clone(),
            amount,
            release_at,
            released: false,
        };
        Ok(Some((EventItem::NewLot, put_new(ctx, lot.to_item())?)))
    };
    Ok(match &event.body {
        EventBody::Earning {
            affiliate,
            amount,
            title,
            product_id,
            hold_seconds,
            occurred_at,
        } => {
            let entry_type = if *affiliate {
                EntryType::AffiliateEarning
            } else {
                EntryType::ProductEarning
            };
            let hold_seconds = hold_seconds.unwrap_or(ctx.config.hold_seconds);
            let held = hold_seconds > 0;
            let lot = if held {
                let start = occurred_at.unwrap_or(now);
                new_lot(*amount, Some(start.saturating_add(hold_seconds)))?
            } else {
                None
            };
            (
                movement(entry_type, *amount, held, title, occurred_at, *product_id),
                lot,
            )
        }
        EventBody::Fee {
            amount,
            title,
            occurred_at,
        } => (
            movement(EntryType::Fee, *amount, false, title, occurred_at, None),
            None,
        ),
        EventBody::Refund {
            amount,
            title,
            product_id,
            occurred_at,
        } => (
            movement(
                EntryType::Refund,
                *amount,
                false,
                title,
                occurred_at,
                *product_id,
            ),
            None,
        ),
        EventBody::Hold {
            amount,
            title,
            occurred_at,
        } => (
            movement(EntryType::Hold, *amount, false, title, occurred_at, None),
            new_lot(*amount, None)?,
        ),
        EventBody::ReleaseHold {
            hold_event_id,
            title,
            occurred_at,
        } => {
            let lot = read_lot(ctx, event.user_id, hold_event_id)
                .await?
                .ok_or_else(|| {
                    EventError::Rejected(format!(
                        "hold lot {hold_event_id:?} of user {} does not exist",
                        event.user_id
                    ))
                })?;
            if lot.released {
                return Err(EventError::Rejected(format!(
                    "hold lot {hold_event_id:?} is already released"
                )));
            }
            (
                movement(
                    EntryType::ReleaseHold,
                    lot.amount,
                    false,
                    title,
                    occurred_at,
                    None,
                ),
                Some((
                    EventItem::ReleasedLot,
                    lot_release(ctx, event.user_id, hold_event_id)?,
                )),
            )
        }
        EventBody::ProductUpsert { .. } | EventBody::LinkClicks { .. } => (None, None),
    })
}

/// What an event does to a product: its new state (as a conditioned Put) and
/// the change of the account's counters. `None` when it touches no product.
async fn product_change(
    ctx: &Ctx,
    event: &Event,
) -> Result<Option<(Analytics, TransactWriteItem)>, EventError> {
    let product_id = match &event.body {
        EventBody::Earning {
            affiliate: false,
            product_id: Some(id),
            ..
        }
        | EventBody::Refund {
            product_id: Some(id),
            ..
        }
        | EventBody::ProductUpsert { product_id: id, .. }
        | EventBody::LinkClicks { product_id: id, .. } => *id,
        _ => return Ok(None),
    };
    let existing = read_product(ctx, product_id).await?;
    if existing
        .as_ref()
        .is_some_and(|p| p.user_id != event.user_id)
    {
        return Err(EventError::Rejected(format!(
            "product {product_id} belongs to another user"
        )));
    }
    // A refund of a product never described changes no product.
    if existing.is_none() && matches!(event.body, EventBody::Refund { .. }) {
        return Ok(None);
    }
    let before = existing.unwrap_or_else(|| Product::new(product_id, event.user_id));
    let mut after = before.clone();
    let overflow =
        || EventError::Rejected(format!("product {product_id}'s counters would overflow"));
    match &event.body {
        EventBody::Earning { amount, .. } => {
            after.unlocks = after.unlocks.checked_add(1).ok_or_else(overflow)?;
            after.total_earnings = after
                .total_earnings
                .checked_add(*amount)
                .ok_or_else(overflow)?;
        }
        EventBody::Refund { amount, .. } => {
            after.total_earnings = after.total_earnings.saturating_sub(*amount).max(0);
        }
        EventBody::ProductUpsert {
            title,
            media_complete,
            deleted,
            thumbnail,
            ..
        } => {
            if let Some(title) = title {
                after.title = title.clone();
            }
            if let Some(media_complete) = media_complete {
                after.media_complete = *media_complete;
            }
            if let Some(deleted) = deleted {
                after.deleted = *deleted;
            }
            if let Some(thumbnail) = thumbnail {
                after.thumbnail = thumbnail.clone();
            }
        }
        EventBody::LinkClicks { count, .. } => {
            after.link_clicks = after.link_clicks.checked_add(*count).ok_or_else(overflow)?;
        }
        _ => {}
    }
    after.version = before.version.saturating_add(1);
    let analytics = Analytics::of_product(&after)
        .change_from(&Analytics::of_product(&before))
        .ok_or_else(overflow)?;
    let put = Put::builder()
        .table_name(ctx.table())
        .set_item(Some(after.to_item()));
    let put = if before.version == 0 {
        put.condition_expression("attribute_not_exists(PK)")
    } else {
        put.condition_expression("#ve = :ve")
            .expression_attribute_names("#ve", product_attr::VERSION)
            .expression_attribute_values(":ve", n(before.version))
    };
    let item = TransactWriteItem::builder()
        .put(put.build().map_err(StoreError::from)?)
        .build();
    Ok(Some((analytics, item)))
}
