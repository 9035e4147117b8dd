//! Reads: one consistent GetItem decoded into its record, the account and
//! its liveness, and Queries of a user's partition.

use super::codec::Decode;
use super::item::{s, Item};
use super::keys::{self, Key};
use super::{Ctx, StoreError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{Get, TransactGetItem};
use domain::account::Account;
use domain::lot::Lot;
use domain::product::{Product, TOP_PERFORMING};

/// The record stored at `key` (one strongly consistent GetItem), if any.
pub async fn get<T: Decode>(ctx: &Ctx, key: Key) -> Result<Option<T>, StoreError> {
    let out = ctx
        .db
        .get_item()
        .table_name(ctx.table())
        .set_key(Some(key.item()))
        .consistent_read(true)
        .send()
        .await?;
    Ok(out.item.map(|item| T::from_item(&item)).transpose()?)
}

/// The account of `user_id`, deleted or not.
pub async fn read_account(ctx: &Ctx, user_id: i64) -> Result<Option<Account>, StoreError> {
    get(ctx, Key::account(user_id)).await
}

/// The account of `user_id` if it is live (exists, not deleted): what every
/// endpoint and event needs (see [`Account::is_live`]).
pub async fn read_live_account(ctx: &Ctx, user_id: i64) -> Result<Option<Account>, StoreError> {
    Ok(domain::account::live(read_account(ctx, user_id).await?))
}

pub async fn read_lot(
    ctx: &Ctx,
    user_id: i64,
    hold_event_id: &str,
) -> Result<Option<Lot>, StoreError> {
    get(ctx, Key::lot(user_id, hold_event_id)).await
}

pub async fn read_product(ctx: &Ctx, product_id: i64) -> Result<Option<Product>, StoreError> {
    get(ctx, Key::product(product_id)).await
}

/// A range of one user's partition: `low <= SK <= high`, strongly consistent.
pub fn user_range_query(ctx: &Ctx, user_id: i64, low: &str, high: &str) -> QueryFluentBuilder {
    ctx.db
        .query()
        .table_name(ctx.table())
        .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
        .expression_attribute_values(":pk", s(keys::user_pk(user_id)))
        .expression_attribute_values(":low", s(low))
        .expression_attribute_values(":high", s(high))
        .consistent_read(true)
}

/// Every item a Query returns, following its pages. `query` builds the
/// request for a page from the key to start at.
pub async fn query_all(
    query: impl Fn(Option<Item>) -> QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = query(start).send().await?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// The accounts of `ids` in one consistent snapshot (TransactGetItems, at most
/// 100), in the order of `ids`; `None` for an id without an account.
pub async fn read_accounts(ctx: &Ctx, ids: &[i64]) -> Result<Vec<Option<Account>>, StoreError> {
    let mut request = ctx.db.transact_get_items();
    for id in ids {
        let get = Get::builder()
            .table_name(ctx.table())
            .set_key(Some(Key::account(*id).item()))
            .build()?;
        request = request.transact_items(TransactGetItem::builder().get(get).build());
    }
    let out = request.send().await?;
    out.responses
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            r.item
                .map(|item| Account::from_item(&item))
                .transpose()
                .map_err(StoreError::from)
        })
        .collect()
}

/// An account's best products (at most 5), from its sparse top index.
pub async fn top_products(ctx: &Ctx, user_id: i64) -> Result<Vec<Product>, StoreError> {
    let out = ctx
        .db
        .query()
        .table_name(ctx.table())
        .index_name(keys::GSI1)
        .key_condition_expression("GSI1PK = :pk")
        .expression_attribute_values(":pk", s(keys::top_products_gsi_pk(user_id)))
        .limit(TOP_PERFORMING as i32)
        .send()
        .await?;
    out.items
        .unwrap_or_default()
        .iter()
        .map(Product::from_item)
        // The index may lag a write: check eligibility on the item itself.
        .filter(|p| p.as_ref().map_or(true, Product::can_rank))
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)
}
