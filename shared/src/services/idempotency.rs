//! `Idempotency-Key` (docs/api.md#cashout): the same key from the same user within 30 days
//! replays the first committed response and does nothing else.
//!
//! A request first claims the key with one conditional Put (an in-flight lock
//! that expires, so a crashed request does not hold the key for ever). The
//! money transaction then turns the lock into the stored response, conditioned
//! on still holding it. A request refused before the transaction gives the
//! key back: rejections are not stored.

use crate::services::error::AppError;
use crate::store::item::{get_i64, get_opt_str, get_str, n, opt_s, s, Item};
use crate::store::keys::{self, Key};
use crate::store::{Ctx, StoreError};
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

pub const REPLAY_WINDOW_SECONDS: i64 = 30 * 24 * 3600;
/// How long an in-flight claim blocks the key if its request never finishes.
pub const LOCK_SECONDS: i64 = 60;

const STATE: &str = "state";
const IN_FLIGHT: &str = "in_flight";
const DONE: &str = "done";
const NONCE: &str = "nonce";
const LOCK_EXPIRES_AT: &str = "lock_expires_at";
const EXPIRES_AT: &str = "expires_at";
/// DynamoDB TTL attribute: the table deletes expired records by itself.
const TTL: &str = "ttl";
const STATUS: &str = "response_status";
const BODY: &str = "response_body";
const LOCATION: &str = "response_location";

/// A response as stored for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The exact body text first sent.
    pub body: String,
    pub location: Option<String>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours until we complete or release it.
    Acquired(Lock),
    /// A committed response exists: replay it.
    Replay(StoredResponse),
    /// Another request with this key is still running.
    InFlight,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub user_id: i64,
    pub key: String,
    pub nonce: String,
}

pub async fn claim(ctx: &Ctx, user_id: i64, key: &str, now: i64) -> Result<Claim, AppError> {
    let nonce = format!("{:032x}", rand::random::<u128>());
    let item: Item = [
        (keys::PK.to_owned(), s(keys::idempotency_pk(user_id, key))),
        (keys::SK.to_owned(), s(keys::IDEMPOTENCY_SK)),
        (STATE.to_owned(), s(IN_FLIGHT)),
        (NONCE.to_owned(), s(&nonce)),
        (
            LOCK_EXPIRES_AT.to_owned(),
            n(now.saturating_add(LOCK_SECONDS)),
        ),
        (
            EXPIRES_AT.to_owned(),
            n(now.saturating_add(REPLAY_WINDOW_SECONDS)),
        ),
        (TTL.to_owned(), n(now.saturating_add(REPLAY_WINDOW_SECONDS))),
    ]
    .into();
    let result = ctx
        .db
        .put_item()
        .table_name(ctx.table())
        .set_item(Some(item))
        .condition_expression(
            "attribute_not_exists(PK) OR #exp < :now OR (#state = :in_flight AND #lock < :now)",
        )
        .expression_attribute_names("#exp", EXPIRES_AT)
        .expression_attribute_names("#state", STATE)
        .expression_attribute_names("#lock", LOCK_EXPIRES_AT)
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":in_flight", s(IN_FLIGHT))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Claim::Acquired(Lock {
            user_id,
            key: key.to_owned(),
            nonce,
        })),
        Err(err) => {
            let old = err.as_service_error().and_then(|e| match e {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                    Some(c.item.clone().unwrap_or_default())
                }
                _ => None,
            });
            match old {
                Some(old) if get_str(&old, STATE) == Ok(DONE) => {
                    Ok(Claim::Replay(StoredResponse {
                        status: get_i64(&old, STATUS)
                            .ok()
                            .and_then(|s| u16::try_from(s).ok())
                            .ok_or_else(|| AppError::internal("stored response without status"))?,
                        body: get_str(&old, BODY).map_err(AppError::internal)?.to_owned(),
                        location: get_opt_str(&old, LOCATION)
                            .map_err(AppError::internal)?
                            .map(str::to_owned),
                    }))
                }
                // Our own Put went through but its answer was lost, and the
                // SDK's retry then met the lock it had just written.
                Some(old) if get_str(&old, NONCE) == Ok(nonce.as_str()) => {
                    Ok(Claim::Acquired(Lock {
                        user_id,
                        key: key.to_owned(),
                        nonce,
                    }))
                }
                Some(_) => Ok(Claim::InFlight),
                None => Err(StoreError::from(err).into()),
            }
        }
    }
}

/// The transaction item that stores the committed response, if we still hold the lock.
pub fn complete(
    ctx: &Ctx,
    lock: &Lock,
    response: &StoredResponse,
    now: i64,
) -> Result<TransactWriteItem, AppError> {
    let item: Item = [
        (
            keys::PK.to_owned(),
            s(keys::idempotency_pk(lock.user_id, &lock.key)),
        ),
        (keys::SK.to_owned(), s(keys::IDEMPOTENCY_SK)),
        (STATE.to_owned(), s(DONE)),
        (NONCE.to_owned(), s(&lock.nonce)),
        (
            EXPIRES_AT.to_owned(),
            n(now.saturating_add(REPLAY_WINDOW_SECONDS)),
        ),
        (TTL.to_owned(), n(now.saturating_add(REPLAY_WINDOW_SECONDS))),
        (STATUS.to_owned(), n(i64::from(response.status))),
        (BODY.to_owned(), s(&response.body)),
        (LOCATION.to_owned(), opt_s(response.location.as_deref())),
    ]
    .into();
    let put = Put::builder()
        .table_name(ctx.table())
        .set_item(Some(item))
        .condition_expression("#nonce = :nonce AND #state = :in_flight")
        .expression_attribute_names("#nonce", NONCE)
        .expression_attribute_names("#state", STATE)
        .expression_attribute_values(":nonce", s(&lock.nonce))
        .expression_attribute_values(":in_flight", s(IN_FLIGHT))
        .build()
        .map_err(StoreError::from)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Gives the key back after a refusal, so a retry can succeed later. Best
/// effort: if it fails, the lock expires by itself.
pub async fn release(ctx: &Ctx, lock: &Lock) {
    let result = ctx
        .db
        .delete_item()
        .table_name(ctx.table())
        .set_key(Some(Key::idempotency(lock.user_id, &lock.key).item()))
        .condition_expression("#nonce = :nonce AND #state = :in_flight")
        .expression_attribute_names("#nonce", NONCE)
        .expression_attribute_names("#state", STATE)
        .expression_attribute_values(":nonce", s(&lock.nonce))
        .expression_attribute_values(":in_flight", s(IN_FLIGHT))
        .send()
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %crate::services::error::cause_chain(&err), "could not release an idempotency key");
    }
}
