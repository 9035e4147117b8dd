//! Writing movements: one TransactWriteItems per money movement, conditioned on
//! the account version read just before (optimistic concurrency; a lost race
//! is read again and retried, never overwritten).

use super::event::{parse_event, Event, EventBody, InvalidEvent};
use super::{next_balance, BalanceError, EntryType};
use crate::analytics::Analytics;
use crate::db::item::{b, n, s, Item};
use crate::db::keys;
use crate::db::model::{attr, lot_attr, product_attr, Account, Entry, EventRecord, Lot, Product};
use crate::db::{cancellation_codes, Ctx};
use crate::error::AppError;
use crate::time::now_epoch;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// How often a movement is retried after losing a race for the account.
pub const MAX_ATTEMPTS: u32 = 200;

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

/// Why a commit did not happen.
#[derive(Debug)]
pub enum CommitError<T> {
    /// The account changed since it was read, or another transaction touched
    /// the same items: read again and retry.
    Conflict,
    /// The condition of the extra item with this tag failed.
    ExtraConditionFailed(T),
    /// The movement would break a wallet rule.
    Balance(BalanceError),
    App(AppError),
}

impl<T> From<AppError> for CommitError<T> {
    fn from(err: AppError) -> Self {
        CommitError::App(err)
    }
}

pub async fn read_account(ctx: &Ctx, user_id: i64) -> Result<Option<Account>, AppError> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(user_id)))
        .key(keys::SK, s(keys::ACCOUNT_SK))
        .consistent_read(true)
        .send()
        .await?;
    out.item
        .map(|item| Account::from_item(&item).map_err(AppError::internal))
        .transpose()
}

pub async fn read_lot(
    ctx: &Ctx,
    user_id: i64,
    hold_event_id: &str,
) -> Result<Option<Lot>, AppError> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(user_id)))
        .key(keys::SK, s(keys::lot_sk(hold_event_id)))
        .consistent_read(true)
        .send()
        .await?;
    out.item
        .map(|item| Lot::from_item(&item).map_err(AppError::internal))
        .transpose()
}

/// Writes `movement` against `account` (as read) in one transaction with
/// `extras`: the balance change, the entry (public list, affiliate list or
/// hidden) and whatever else must happen with it. All or nothing.
pub async fn commit<T: Clone>(
    ctx: &Ctx,
    account: &Account,
    movement: &Movement,
    entry_id: i64,
    extras: Vec<(T, TransactWriteItem)>,
) -> Result<(Account, Entry), CommitError<T>> {
    let balance = next_balance(
        &account.balance,
        movement.entry_type,
        movement.amount,
        movement.held,
    )
    .map_err(CommitError::Balance)?;
    let mut after = account.clone();
    after.balance = balance;
    after.version = account.version.saturating_add(1);
    let entry = Entry {
        id: entry_id,
        user_id: account.user_id,
        entry_type: movement.entry_type,
        amount: movement.amount,
        title: movement.title.clone(),
        created_at: movement.created_at,
        currency: account.currency,
        event_id: movement.event_id.clone(),
        product_id: movement.product_id,
        payout_id: movement.payout_id,
        deltas: movement.entry_type.deltas(movement.amount, movement.held),
    };
    if movement.entry_type == EntryType::Pending {
        // Every `pending` entry is a cashout: it opens the next payout of the list.
        after.payout_count = account.payout_count.saturating_add(1);
    }
    let affiliate = movement.entry_type == EntryType::AffiliateEarning;
    if affiliate {
        after.affiliate_count = account.affiliate_count.saturating_add(1);
    }
    let entry_sk = if movement.entry_type.is_public() {
        after.public_count = account.public_count.saturating_add(1);
        keys::public_entry_sk(after.public_count)
    } else {
        keys::hidden_entry_sk(entry_id)
    };
    let mut items = vec![
        account_update(ctx, account, &after, &movement.analytics)?,
        put_new(ctx, entry.to_item(entry_sk))?,
    ];
    if affiliate {
        items.push(put_new(
            ctx,
            entry.to_item(keys::affiliate_entry_sk(after.affiliate_count)),
        )?);
    }
    run_transaction(ctx, items, extras).await?;
    Ok((after, entry))
}

/// Runs `items` and then `extras` as one transaction. A failed condition of an
/// extra is reported with its tag; any other failed condition or conflict is a
/// [`CommitError::Conflict`] (read again and retry).
async fn run_transaction<T: Clone>(
    ctx: &Ctx,
    mut items: Vec<TransactWriteItem>,
    extras: Vec<(T, TransactWriteItem)>,
) -> Result<(), CommitError<T>> {
    let fixed = items.len();
    let tags: Vec<T> = extras.iter().map(|(tag, _)| tag.clone()).collect();
    items.extend(extras.into_iter().map(|(_, item)| item));
    let result = ctx
        .db
        .transact_write_items()
        .set_transact_items(Some(items))
        // Makes the SDK's own retries of this attempt idempotent. Tokens are
        // scoped to the AWS account and region, not the table: random, not ids.
        .client_request_token(format!("{:032x}", rand::random::<u128>()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) => match cancellation_codes(&err) {
            Some(codes) => {
                // A failed condition on the account means it changed since it
                // was read: whatever else failed may follow from that, so the
                // caller reads again and decides anew.
                let account_changed = codes
                    .iter()
                    .take(fixed)
                    .any(|c| c == "ConditionalCheckFailed");
                if account_changed {
                    return Err(CommitError::Conflict);
                }
                let failed_extra = tags.iter().enumerate().find(|(i, _)| {
                    codes.get(fixed + i).map(String::as_str) == Some("ConditionalCheckFailed")
                });
                if let Some((_, tag)) = failed_extra {
                    return Err(CommitError::ExtraConditionFailed(tag.clone()));
                }
                let retryable = codes.iter().all(|c| {
                    matches!(
                        c.as_str(),
                        "None" | "ConditionalCheckFailed" | "TransactionConflict"
                    )
                });
                if retryable {
                    Err(CommitError::Conflict)
                } else {
                    Err(CommitError::App(err.into()))
                }
            }
            None if err
                .as_service_error()
                .is_some_and(|e| e.is_transaction_in_progress_exception()) =>
            {
                Err(CommitError::Conflict)
            }
            None => Err(CommitError::App(err.into())),
        },
    }
}

/// Changes only the product counters of an account (events that move no
/// money): added, so it needs no version and races with nothing.
pub async fn commit_analytics<T: Clone>(
    ctx: &Ctx,
    user_id: i64,
    analytics: &Analytics,
    extras: Vec<(T, TransactWriteItem)>,
) -> Result<(), CommitError<T>> {
    let (add, values) = analytics_add(analytics);
    let account_item = if add.is_empty() {
        crate::users::account_alive_check(ctx, user_id).map_err(AppError::from)?
    } else {
        let mut update = Update::builder()
            .table_name(ctx.table())
            .key(keys::PK, s(keys::user_pk(user_id)))
            .key(keys::SK, s(keys::ACCOUNT_SK))
            .update_expression(add)
            .condition_expression("attribute_exists(PK) AND #de = :false")
            .expression_attribute_names("#de", attr::DELETED)
            .expression_attribute_values(":false", b(false));
        for (name, attribute, value) in values {
            update = update
                .expression_attribute_names(name, attribute)
                .expression_attribute_values(name.replace('#', ":"), n(value));
        }
        TransactWriteItem::builder()
            .update(update.build().map_err(AppError::from)?)
            .build()
    };
    run_transaction(ctx, vec![account_item], extras).await
}

/// `ADD` clauses for the non-zero analytics changes: the expression and
/// (placeholder, attribute, value) triples.
fn analytics_add(a: &Analytics) -> (String, Vec<(&'static str, &'static str, i64)>) {
    let values: Vec<(&'static str, &'static str, i64)> = [
        ("#ci", attr::CONTENT_ITEMS, a.content_items),
        ("#lc", attr::LINK_CLICKS, a.link_clicks),
        ("#un", attr::UNLOCKS, a.unlocks),
        ("#pr", attr::PRODUCT_REVENUE, a.product_revenue),
    ]
    .into_iter()
    .filter(|(_, _, v)| *v != 0)
    .collect();
    if values.is_empty() {
        return (String::new(), values);
    }
    let clauses: Vec<String> = values
        .iter()
        .map(|(name, _, _)| format!("{name} {}", name.replace('#', ":")))
        .collect();
    (format!("ADD {}", clauses.join(", ")), values)
}

/// Sets the buckets and counters of `after`, if the account is still at the
/// version of `before`. Every write of an account bumps its version (deleting
/// it too), so callers decide on what they read: events refuse a deleted user,
/// payout decisions and hold releases still settle its money.
fn account_update(
    ctx: &Ctx,
    before: &Account,
    after: &Account,
    analytics: &Analytics,
) -> Result<TransactWriteItem, AppError> {
    let (add, add_values) = analytics_add(analytics);
    let mut update = Update::builder()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(before.user_id)))
        .key(keys::SK, s(keys::ACCOUNT_SK))
        .update_expression(format!(
            "SET #av = :av, #ho = :ho, #pe = :pe, #rr = :rr, #pc = :pc, #ac = :ac, #yc = :yc, #ve = :v1 {add}"
        ))
        .condition_expression("#ve = :v0")
        .expression_attribute_names("#av", attr::AVAILABLE)
        .expression_attribute_names("#ho", attr::HOLD)
        .expression_attribute_names("#pe", attr::PENDING)
        .expression_attribute_names("#rr", attr::REFERRAL_REVENUE)
        .expression_attribute_names("#pc", attr::PUBLIC_COUNT)
        .expression_attribute_names("#ac", attr::AFFILIATE_COUNT)
        .expression_attribute_names("#yc", attr::PAYOUT_COUNT)
        .expression_attribute_names("#ve", attr::VERSION)
        .expression_attribute_values(":av", n(after.balance.available))
        .expression_attribute_values(":ho", n(after.balance.hold))
        .expression_attribute_values(":pe", n(after.balance.pending))
        .expression_attribute_values(":rr", n(after.balance.referral_revenue))
        .expression_attribute_values(":pc", n(after.public_count))
        .expression_attribute_values(":ac", n(after.affiliate_count))
        .expression_attribute_values(":yc", n(after.payout_count))
        .expression_attribute_values(":v1", n(after.version))
        .expression_attribute_values(":v0", n(before.version));
    for (name, attribute, value) in add_values {
        update = update
            .expression_attribute_names(name, attribute)
            .expression_attribute_values(name.replace('#', ":"), n(value));
    }
    let update = update.build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A Put that must not overwrite anything.
pub fn put_new(ctx: &Ctx, item: Item) -> Result<TransactWriteItem, AppError> {
    let put = Put::builder()
        .table_name(ctx.table())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Marks a lot released and takes it out of the due index, if not released yet.
pub fn lot_release(
    ctx: &Ctx,
    user_id: i64,
    hold_event_id: &str,
) -> Result<TransactWriteItem, AppError> {
    let update = Update::builder()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::user_pk(user_id)))
        .key(keys::SK, s(keys::lot_sk(hold_event_id)))
        .update_expression("SET #re = :true REMOVE #gp, #gs")
        .condition_expression("attribute_exists(PK) AND #re = :false")
        .expression_attribute_names("#re", lot_attr::RELEASED)
        .expression_attribute_names("#gp", keys::GSI1_PK)
        .expression_attribute_names("#gs", keys::GSI1_SK)
        .expression_attribute_values(":true", b(true))
        .expression_attribute_values(":false", b(false))
        .build()?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Waits a little before the next attempt: jittered, growing to at most 100 ms.
pub async fn backoff(attempt: u32) {
    let cap = 2u64.saturating_pow(attempt.min(7)).min(100);
    let wait = rand::rng().random_range(0..=cap);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// The outcome of one event, as `walletctl event` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventResult {
    pub event_id: Option<String>,
    pub status: EventStatus,
    pub error: Option<String>,
    /// A failure that may succeed when tried again (a database error), as
    /// opposed to a refusal of the event itself.
    #[serde(skip)]
    pub retryable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Applied,
    Duplicate,
    Rejected,
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

impl From<InvalidEvent> for EventError {
    fn from(err: InvalidEvent) -> Self {
        EventError::Rejected(err.0)
    }
}

/// Parses and applies one event (SPEC section 6). Never panics, never
/// applies an event twice; a refused event changes nothing.
pub async fn apply_event_value(ctx: &Ctx, value: &Value) -> EventResult {
    let event_id = super::event::event_id_of(value);
    let outcome = match parse_event(value) {
        Ok(event) => apply_event(ctx, &event).await,
        Err(invalid) => Err(invalid.into()),
    };
    match outcome {
        Ok(status) => EventResult {
            event_id,
            status,
            error: None,
            retryable: false,
        },
        Err(EventError::Rejected(message)) => EventResult {
            event_id,
            status: EventStatus::Rejected,
            error: Some(message),
            retryable: false,
        },
        Err(EventError::Failed(err)) => {
            let chain = crate::error::cause_chain(&err);
            tracing::error!(event_id = ?event_id, error = %chain, "event failed");
            EventResult {
                event_id,
                status: EventStatus::Rejected,
                error: Some(format!("temporary failure, retry later: {chain}")),
                retryable: true,
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
    for attempt in 0..MAX_ATTEMPTS {
        let read = match first_read.take() {
            Some(read) => read,
            None => read_account(ctx, event.user_id).await,
        };
        let account = match read? {
            Some(a) if !a.deleted => a,
            _ => {
                return Err(EventError::Rejected(format!(
                    "user {} does not exist or is deleted",
                    event.user_id
                )))
            }
        };
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
            Ok(()) => return Ok(EventStatus::Applied),
            Err(CommitError::Conflict)
            | Err(CommitError::ExtraConditionFailed(EventItem::NewLot | EventItem::Product)) => {
                backoff(attempt).await
            }
            Err(CommitError::ExtraConditionFailed(EventItem::Record)) => {
                if let Some(status) = check_replay(ctx, event).await? {
                    return Ok(status);
                }
                backoff(attempt).await
            }
            Err(CommitError::ExtraConditionFailed(EventItem::ReleasedLot)) => {
                if let EventBody::ReleaseHold { hold_event_id, .. } = &event.body {
                    return Err(EventError::Rejected(format!(
                        "hold lot {hold_event_id:?} is already released"
                    )));
                }
                backoff(attempt).await
            }
            Err(CommitError::Balance(err)) => return Err(EventError::Rejected(err.to_string())),
            Err(CommitError::App(err)) => return Err(EventError::Failed(err)),
        }
    }
    Err(EventError::Failed(AppError::internal(format!(
        "gave up after {MAX_ATTEMPTS} attempts: the wallet of user {} is too busy",
        event.user_id
    ))))
}

/// `Some` when this event id was applied before: a duplicate if the payload
/// is the same, refused otherwise.
async fn check_replay(ctx: &Ctx, event: &Event) -> Result<Option<EventStatus>, EventError> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::event_pk(&event.event_id)))
        .key(keys::SK, s(keys::EVENT_SK))
        .consistent_read(true)
        .send()
        .await
        .map_err(AppError::from)?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let record = EventRecord::from_item(&item).map_err(AppError::internal)?;
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
        .put(put.build().map_err(AppError::from)?)
        .build();
    Ok(Some((analytics, item)))
}

pub async fn read_product(ctx: &Ctx, product_id: i64) -> Result<Option<Product>, AppError> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .key(keys::PK, s(keys::product_pk(product_id)))
        .key(keys::SK, s(keys::PRODUCT_SK))
        .consistent_read(true)
        .send()
        .await?;
    out.item
        .map(|item| Product::from_item(&item).map_err(AppError::internal))
        .transpose()
}
