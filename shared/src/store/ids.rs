//! System-wide integer ids, hi/lo style: each process reserves a block of ids
//! with one atomic counter update and hands them out from memory, so the counter
//! item is touched once per block, not once per id. Unused ids of a block are
//! skipped for good when the process ends: ids are unique and never reused,
//! not gap-free.

use super::item::{get_i64, n};
use super::keys::{ID_COUNTER_PK, ID_COUNTER_SK, PK, SK};
use super::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use domain::ids::MAX_ID;
use tokio::sync::Mutex;

pub const DEFAULT_BLOCK_SIZE: i64 = 1000;

#[derive(Debug)]
pub struct IdAllocator {
    block_size: i64,
    /// Next id to hand out and the last id of the reserved block.
    range: Mutex<(i64, i64)>,
}

impl IdAllocator {
    pub fn new(block_size: i64) -> Self {
        Self {
            block_size: block_size.clamp(1, 1_000_000),
            range: Mutex::new((1, 0)),
        }
    }

    pub async fn next_id(
        &self,
        db: &aws_sdk_dynamodb::Client,
        table: &str,
    ) -> Result<i64, StoreError> {
        let mut range = self.range.lock().await;
        if range.0 > range.1 {
            let high = reserve_block(db, table, self.block_size).await?;
            *range = (high - self.block_size + 1, high);
        }
        let id = range.0;
        if !(1..=MAX_ID).contains(&id) {
            return Err(StoreError::failed(format!("id space exhausted at {id}")));
        }
        range.0 += 1;
        Ok(id)
    }
}

/// Adds `size` to the counter and returns its new value: the last id of the block.
async fn reserve_block(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    size: i64,
) -> Result<i64, StoreError> {
    let out = db
        .update_item()
        .table_name(table)
        .key(PK, AttributeValue::S(ID_COUNTER_PK.into()))
        .key(SK, AttributeValue::S(ID_COUNTER_SK.into()))
        .update_expression("ADD high :size")
        .expression_attribute_values(":size", n(size))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await?;
    let attrs = out
        .attributes
        .ok_or_else(|| StoreError::failed("id counter update returned nothing"))?;
    Ok(get_i64(&attrs, "high")?)
}
