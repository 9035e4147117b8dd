//! Transactions: a money movement written as one TransactWriteItems
//! conditioned on the account version read just before (optimistic
//! concurrency: a lost race is read again and retried, never overwritten),
//! the items that go with it, and what a cancellation's reasons mean.

use super::codec::{attr, entry_item, lot_attr};
use super::item::{b, n, Item};
use super::keys::{self, Key};
use super::{Ctx, StoreError};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use domain::account::Account;
use domain::ledger::{next_balance, BalanceError, Entry, EntryType, Movement};
use domain::product::Analytics;

/// Sends a conditional UpdateItem: `false` when its condition failed
/// (nothing changed).
pub async fn update_if(update: UpdateItemFluentBuilder) -> Result<bool, StoreError> {
    match update.send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(err.into()),
    }
}

/// The one liveness condition: the account exists and is not deleted.
pub const LIVE_ACCOUNT: &str = "attribute_exists(PK) AND #de = :false";

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
    Store(StoreError),
}

impl<T> From<aws_sdk_dynamodb::error::BuildError> for CommitError<T> {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        CommitError::Store(err.into())
    }
}

impl<T> From<StoreError> for CommitError<T> {
    fn from(err: StoreError) -> Self {
        CommitError::Store(err)
    }
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
        put_new(ctx, entry_item(&entry, entry_sk))?,
    ];
    if affiliate {
        items.push(put_new(
            ctx,
            entry_item(&entry, keys::affiliate_entry_sk(after.affiliate_count)),
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
                    Err(CommitError::Store(err.into()))
                }
            }
            None if err
                .as_service_error()
                .is_some_and(|e| e.is_transaction_in_progress_exception()) =>
            {
                Err(CommitError::Conflict)
            }
            None => Err(CommitError::Store(err.into())),
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
        account_alive_check(ctx, user_id)?
    } else {
        let mut update = Update::builder()
            .table_name(ctx.table())
            .set_key(Some(Key::account(user_id).item()))
            .update_expression(add)
            .condition_expression(LIVE_ACCOUNT)
            .expression_attribute_names("#de", attr::DELETED)
            .expression_attribute_values(":false", b(false));
        for (name, attribute, value) in values {
            update = update
                .expression_attribute_names(name, attribute)
                .expression_attribute_values(name.replace('#', ":"), n(value));
        }
        TransactWriteItem::builder().update(update.build()?).build()
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
) -> Result<TransactWriteItem, StoreError> {
    let (add, add_values) = analytics_add(analytics);
    let mut update = Update::builder()
        .table_name(ctx.table())
        .set_key(Some(Key::account(before.user_id).item()))
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
pub fn put_new(ctx: &Ctx, item: Item) -> Result<TransactWriteItem, StoreError> {
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
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(ctx.table())
        .set_key(Some(Key::lot(user_id, hold_event_id).item()))
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

/// A transaction item that holds only while the user exists and is not deleted.
pub fn account_alive_check(ctx: &Ctx, user_id: i64) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(ctx.table())
        .set_key(Some(Key::account(user_id).item()))
        .condition_expression(LIVE_ACCOUNT)
        .expression_attribute_names("#de", attr::DELETED)
        .expression_attribute_values(":false", b(false))
        .build()?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// The cancellation reason codes of a cancelled transaction, one per item
/// (`"None"` for items that were fine), or `None` if it was not cancelled.
pub fn cancellation_codes<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether the transaction was cancelled because the condition of item `index` failed.
pub fn is_condition_failure<R>(err: &SdkError<TransactWriteItemsError, R>, index: usize) -> bool {
    cancellation_codes(err)
        .and_then(|codes| codes.get(index).cloned())
        .is_some_and(|code| code == "ConditionalCheckFailed")
}
