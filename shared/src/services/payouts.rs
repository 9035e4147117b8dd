//! Cashouts and the payout lifecycle (docs/api.md#cashout, docs/ledger.md#payouts):
//! `requested` -> `paid` (approve) or `declined` (decline, funds back to available).

use crate::services::error::AppError;
use crate::services::idempotency::{self, Claim, Lock, StoredResponse};
use crate::store::codec::{payout_attr, payout_list_item, Decode, Record};
use crate::store::item::{n, opt_s, s};
use crate::store::keys::{self, Key};
use crate::store::read::{get, query_all, read_account, user_range_query};
use crate::store::retry::{retry_on_conflict, Attempt};
use crate::store::write::{commit, put_new, CommitError};
use crate::store::{Ctx, StoreError};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use domain::account::{cashout_blockers, Account, CashoutBlocker};
use domain::ledger::{EntryType, Movement};
use domain::pagination::{PageRequest, Paginated};
use domain::payout::{Payout, PayoutStatus};
use domain::time::{format_created_at, now_epoch};
use serde::Serialize;

pub const CASHOUT_CREATED: &str = "Cashout created successfully";
pub const MAX_DECLINE_REASON_CHARS: usize = 500;

pub fn payout_location(payout_id: i64) -> String {
    format!("/api/wallet/payouts/{payout_id}")
}

/// What a cashout came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cashout {
    /// A new payout of the whole available balance.
    Created { payout_id: i64 },
    /// The Idempotency-Key was used before: its first response, exactly.
    Replayed(StoredResponse),
}

/// POST /api/wallet/cashout for `user_id`, with an optional Idempotency-Key.
/// `success` is the response a created payout gets, as stored with the key
/// (the HTTP edge's envelope), so that a replay repeats it byte for byte.
pub async fn cashout(
    ctx: &Ctx,
    user_id: i64,
    key: Option<&str>,
    success: impl Fn(i64) -> StoredResponse,
) -> Result<Cashout, AppError> {
    let now = now_epoch();
    // The claim, the account read and the ids are independent: one round trip
    // for all of them (ids usually come from memory; a refused cashout just
    // skips the two it took).
    let ids = async { Ok::<_, AppError>((ctx.next_id().await?, ctx.next_id().await?)) };
    let (lock, account, ids) = match key {
        Some(key) => {
            let (claim, account, ids) = tokio::join!(
                idempotency::claim(ctx, user_id, key, now),
                read_account(ctx, user_id),
                ids
            );
            match claim? {
                Claim::Replay(stored) => return Ok(Cashout::Replayed(stored)),
                Claim::InFlight => return Err(AppError::IdempotencyInFlight),
                Claim::Acquired(lock) => (Some(lock), account, ids),
            }
        }
        None => {
            let (account, ids) = tokio::join!(read_account(ctx, user_id), ids);
            (None, account, ids)
        }
    };
    let result = match (account.map_err(AppError::from), ids) {
        (Ok(account), Ok(ids)) => {
            cashout_locked(ctx, user_id, account, ids, lock.as_ref(), now, &success).await
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    if let (Err(_), Some(lock)) = (&result, &lock) {
        idempotency::release(ctx, lock).await;
    }
    result
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CashoutItem {
    Payout,
    PayoutListCopy,
    Idempotency,
}

async fn cashout_locked(
    ctx: &Ctx,
    user_id: i64,
    first_read: Option<Account>,
    (payout_id, entry_id): (i64, i64),
    lock: Option<&Lock>,
    now: i64,
    success: &impl Fn(i64) -> StoredResponse,
) -> Result<Cashout, AppError> {
    let mut first_read = Some(first_read);
    retry_on_conflict(
        || format!("the wallet of user {user_id}"),
        |_| {
            let first_read = first_read.take();
            async move {
                let current = match first_read {
                    Some(read) => read,
                    None => read_account(ctx, user_id).await?,
                };
                let current = domain::account::live(current).ok_or(AppError::Unauthenticated)?;
                let amount = current.balance.available;
                check_cashout(ctx, &current)?;
                let payout = Payout {
                    payout_id,
                    user_id,
                    seq: current.payout_count.saturating_add(1),
                    amount,
                    currency: current.currency,
                    status: PayoutStatus::Requested,
                    requested_at: now,
                    decided_at: None,
                    decline_reason: None,
                    payout_details: current.payout_details.clone(),
                };
                let mut extras = vec![
                    (CashoutItem::Payout, put_new(ctx, payout.to_item())?),
                    (
                        CashoutItem::PayoutListCopy,
                        put_new(ctx, payout_list_item(&payout))?,
                    ),
                ];
                if let Some(lock) = lock {
                    extras.push((
                        CashoutItem::Idempotency,
                        idempotency::complete(ctx, lock, &success(payout_id), now)?,
                    ));
                }
                let movement = Movement {
                    entry_type: EntryType::Pending,
                    amount,
                    held: false,
                    title: Some("Cashout".to_owned()),
                    created_at: now,
                    event_id: None,
                    product_id: None,
                    payout_id: Some(payout_id),
                    analytics: Default::default(),
                };
                match commit(ctx, &current, &movement, entry_id, extras).await {
                    Ok(_) => {
                        tracing::info!(user_id, payout_id, amount, "cashout created");
                        Ok(Attempt::Done(Cashout::Created { payout_id }))
                    }
                    Err(CommitError::Conflict) => Ok(Attempt::Retry),
                    Err(CommitError::ExtraConditionFailed(CashoutItem::Idempotency)) => {
                        Err(AppError::IdempotencyInFlight)
                    }
                    Err(CommitError::ExtraConditionFailed(item)) => Err(AppError::internal(
                        format!("cashout item {item:?} already exists"),
                    )),
                    Err(CommitError::Balance(err)) => Err(AppError::internal(err)),
                    Err(CommitError::Store(err)) => Err(err.into()),
                }
            }
        },
    )
    .await
}

/// The preconditions of a cashout: refused with the first of its blockers
/// (`domain::account::cashout_blockers`, which the wallet shows too).
pub fn check_cashout(ctx: &Ctx, account: &Account) -> Result<(), AppError> {
    let minimum = ctx.config.min_cashout(account.currency);
    match cashout_blockers(account, minimum).first() {
        None => Ok(()),
        Some(CashoutBlocker::NoAvailableFunds) => Err(AppError::NoAvailableFunds),
        Some(CashoutBlocker::PayoutDetailsMissing) => Err(AppError::PayoutDetailsMissing),
        Some(CashoutBlocker::BelowMinimum { minimum, currency }) => Err(AppError::BelowMinimum {
            minimum: *minimum,
            currency_code: currency.code(),
        }),
    }
}

/// An operator's decision on a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Decline { reason: String },
}

impl Decision {
    fn status(&self) -> PayoutStatus {
        match self {
            Decision::Approve => PayoutStatus::Paid,
            Decision::Decline { .. } => PayoutStatus::Declined,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// Decided now.
    Decided(Payout),
    /// The same decision was made before: nothing changed.
    AlreadyDecided(Payout),
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("payout {0} does not exist")]
    NotFound(i64),
    #[error("payout {payout_id} is already {status}; it cannot be {wanted} now")]
    AlreadyOtherwiseDecided {
        payout_id: i64,
        status: &'static str,
        wanted: &'static str,
    },
    #[error("the decline reason must be 1 to {MAX_DECLINE_REASON_CHARS} characters")]
    BadReason,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for DecisionError {
    fn from(err: StoreError) -> Self {
        DecisionError::App(err.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecisionItem {
    Payout,
    PayoutListCopy,
}

pub async fn read_payout(ctx: &Ctx, payout_id: i64) -> Result<Option<Payout>, AppError> {
    Ok(get(ctx, Key::payout(payout_id)).await?)
}

/// Approves or declines a requested payout: one transaction moves the money
/// (`withdrawal`, or the hidden `RELEASE_PENDING` back to available) and
/// records the decision. The same decision again changes nothing; the other
/// decision on a decided payout is refused.
pub async fn decide(
    ctx: &Ctx,
    payout_id: i64,
    decision: Decision,
) -> Result<DecisionOutcome, DecisionError> {
    let reason = match &decision {
        Decision::Decline { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_DECLINE_REASON_CHARS {
                return Err(DecisionError::BadReason);
            }
            Some(reason.to_owned())
        }
        Decision::Approve => None,
    };
    let wanted = decision.status();
    let entry_id = ctx.next_id().await?;
    let user_id = read_payout(ctx, payout_id)
        .await?
        .ok_or(DecisionError::NotFound(payout_id))?
        .user_id;
    let (decision, reason) = (&decision, &reason);
    retry_on_conflict(
        || format!("the wallet of user {user_id}"),
        |_| async move {
            // The account before the payout: a payout still requested then is still
            // in the `pending` that was read, so a decision never computes a
            // negative pending; a concurrent decision fails our version condition.
            let account = read_account(ctx, user_id)
                .await?
                .ok_or_else(|| AppError::internal(format!("payout {payout_id} has no account")))?;
            let payout = read_payout(ctx, payout_id)
                .await?
                .ok_or(DecisionError::NotFound(payout_id))?;
            if payout.status == wanted {
                return Ok(Attempt::Done(DecisionOutcome::AlreadyDecided(payout)));
            }
            if payout.status != PayoutStatus::Requested {
                return Err(DecisionError::AlreadyOtherwiseDecided {
                    payout_id,
                    status: payout.status.as_str(),
                    wanted: match decision {
                        Decision::Approve => "approved",
                        Decision::Decline { .. } => "declined",
                    },
                });
            }
            let now = now_epoch();
            let mut decided = payout.clone();
            decided.status = wanted;
            decided.decided_at = Some(now);
            decided.decline_reason = reason.clone();
            let movement = Movement {
                entry_type: match decision {
                    Decision::Approve => EntryType::Withdrawal,
                    Decision::Decline { .. } => EntryType::ReleasePending,
                },
                amount: payout.amount,
                held: false,
                title: Some(match decision {
                    Decision::Approve => "Payout paid".to_owned(),
                    Decision::Decline { .. } => "Payout declined".to_owned(),
                }),
                created_at: now,
                event_id: None,
                product_id: None,
                payout_id: Some(payout_id),
                analytics: Default::default(),
            };
            let extras = vec![
                (DecisionItem::Payout, decision_update(ctx, &decided, true)?),
                (
                    DecisionItem::PayoutListCopy,
                    decision_update(ctx, &decided, false)?,
                ),
            ];
            match commit(ctx, &account, &movement, entry_id, extras).await {
                Ok(_) => {
                    tracing::info!(payout_id, status = wanted.as_str(), "payout decided");
                    Ok(Attempt::Done(DecisionOutcome::Decided(decided)))
                }
                Err(CommitError::Conflict) | Err(CommitError::ExtraConditionFailed(_)) => {
                    Ok(Attempt::Retry)
                }
                Err(CommitError::Balance(err)) => Err(AppError::internal(err).into()),
                Err(CommitError::Store(err)) => Err(AppError::from(err).into()),
            }
        },
    )
    .await
}

/// Sets the decision on the payout item (`canonical`) or its list copy, if
/// still requested.
fn decision_update(
    ctx: &Ctx,
    decided: &Payout,
    canonical: bool,
) -> Result<TransactWriteItem, AppError> {
    let key = if canonical {
        Key::payout(decided.payout_id)
    } else {
        Key::payout_list(decided.user_id, decided.seq)
    };
    let mut expression = "SET #st = :st, #da = :da, #dr = :dr".to_owned();
    let mut update = Update::builder()
        .table_name(ctx.table())
        .set_key(Some(key.item()))
        .condition_expression("#st = :requested")
        .expression_attribute_names("#st", payout_attr::STATUS)
        .expression_attribute_names("#da", payout_attr::DECIDED_AT)
        .expression_attribute_names("#dr", payout_attr::DECLINE_REASON)
        .expression_attribute_values(":st", s(decided.status.as_str()))
        .expression_attribute_values(":da", n(decided.decided_at.unwrap_or_default()))
        .expression_attribute_values(":dr", opt_s(decided.decline_reason.as_deref()))
        .expression_attribute_values(":requested", s(PayoutStatus::Requested.as_str()));
    if canonical {
        expression.push_str(", #gp = :gp");
        update = update
            .expression_attribute_names("#gp", keys::GSI1_PK)
            .expression_attribute_values(
                ":gp",
                s(keys::payouts_by_status_gsi_pk(decided.status.as_str())),
            );
    }
    let update = update
        .update_expression(expression)
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A payout as a creator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutView {
    pub id: i64,
    pub amount: i64,
    pub currency_code: &'static str,
    pub status: &'static str,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub decline_reason: Option<String>,
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        Self {
            id: p.payout_id,
            amount: p.amount,
            currency_code: p.currency.code(),
            status: p.status.as_str(),
            requested_at: format_created_at(p.requested_at),
            decided_at: p.decided_at.map(format_created_at),
            decline_reason: p.decline_reason.clone(),
        }
    }
}

/// A page of a user's payouts, newest first: the account (for the total) and
/// the page's range of the list, read at the same time for page 1.
pub async fn read_payout_page(
    ctx: &Ctx,
    user_id: i64,
    page: PageRequest,
) -> Result<Paginated<PayoutView>, AppError> {
    let limit = i32::try_from(page.limit).unwrap_or(i32::MAX);
    let (account, items) = if page.page == 1 {
        let (account, items) = tokio::join!(
            read_account(ctx, user_id),
            user_range_query(
                ctx,
                user_id,
                keys::PAYOUT_LIST_FLOOR,
                keys::PAYOUT_LIST_CEILING
            )
            .limit(limit)
            .send()
        );
        (
            account?,
            items.map_err(StoreError::from)?.items.unwrap_or_default(),
        )
    } else {
        let account = read_account(ctx, user_id).await?;
        let window = account
            .as_ref()
            .and_then(|a| page.window(a.payout_count).seqs);
        let items = match window {
            Some((high, low)) => {
                let (high, low) = (keys::payout_list_sk(high), keys::payout_list_sk(low));
                user_range_query(ctx, user_id, &high, &low)
                    .limit(limit)
                    .send()
                    .await
                    .map_err(StoreError::from)?
                    .items
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        (account, items)
    };
    let account = account
        .filter(|a| !a.deleted)
        .ok_or(AppError::Unauthenticated)?;
    let total = account.payout_count;
    let payouts = items
        .iter()
        .map(Payout::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    // Page 1 reads the account and the list at the same time: a payout created
    // in between is left out, so the page agrees with its total.
    let data = payouts
        .iter()
        .filter(|p| p.seq <= total)
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(PayoutView::from)
        .collect();
    Ok(Paginated::new(page, total, data))
}

/// One payout of the user, or `None` if it does not exist or is someone else's.
pub async fn read_own_payout(
    ctx: &Ctx,
    user_id: i64,
    payout_id: i64,
) -> Result<Option<PayoutView>, AppError> {
    // A deleted user's token no longer reads anything.
    let (account, payout) = tokio::join!(read_account(ctx, user_id), read_payout(ctx, payout_id));
    account?
        .filter(|a| !a.deleted)
        .ok_or(AppError::Unauthenticated)?;
    Ok(payout?
        .filter(|p| p.user_id == user_id)
        .map(|p| PayoutView::from(&p)))
}

/// Every payout (for the operator), optionally of one user and/or one status,
/// oldest first.
pub async fn list_payouts(
    ctx: &Ctx,
    user_id: Option<i64>,
    status: Option<PayoutStatus>,
) -> Result<Vec<Payout>, AppError> {
    let mut items = Vec::new();
    match user_id {
        Some(user_id) => {
            items = query_all(|start| {
                user_range_query(
                    ctx,
                    user_id,
                    keys::PAYOUT_LIST_FLOOR,
                    keys::PAYOUT_LIST_CEILING,
                )
                .set_exclusive_start_key(start)
            })
            .await?;
        }
        None => {
            for status in status.map_or(PayoutStatus::ALL.to_vec(), |s| vec![s]) {
                items.extend(
                    query_all(|start| {
                        ctx.db
                            .query()
                            .table_name(ctx.table())
                            .index_name(keys::GSI1)
                            .key_condition_expression("GSI1PK = :pk")
                            .expression_attribute_values(
                                ":pk",
                                s(keys::payouts_by_status_gsi_pk(status.as_str())),
                            )
                            .set_exclusive_start_key(start)
                    })
                    .await?,
                );
            }
        }
    }
    let mut payouts = items
        .iter()
        .map(Payout::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    payouts.retain(|p| status.is_none_or(|s| p.status == s));
    payouts.sort_by_key(|p| p.payout_id);
    Ok(payouts)
}
