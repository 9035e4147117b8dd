//! DynamoDB access: the context every handler gets, keys, items, ids, the table.

pub mod ids;
pub mod item;
pub mod keys;
pub mod model;
pub mod table;

use crate::config::Config;
use crate::error::AppError;
use ids::IdAllocator;

/// What a function builds once at cold start and every invocation borrows.
#[derive(Debug)]
pub struct Ctx {
    pub db: aws_sdk_dynamodb::Client,
    pub config: Config,
    ids: IdAllocator,
}

impl Ctx {
    pub fn new(db: aws_sdk_dynamodb::Client, config: Config) -> Self {
        Self {
            db,
            config,
            ids: IdAllocator::new(ids::DEFAULT_BLOCK_SIZE),
        }
    }

    /// Config and DynamoDB client from the environment (Lambda, `walletctl`).
    /// `AWS_ENDPOINT_URL_DYNAMODB` points the client at DynamoDB Local.
    pub async fn from_env() -> Result<Self, AppError> {
        let config = Config::from_env().map_err(AppError::internal)?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(aws_sdk_dynamodb::Client::new(&sdk), config))
    }

    pub fn table(&self) -> &str {
        &self.config.table_name
    }

    /// A new system-wide id (see [`ids`]).
    pub async fn next_id(&self) -> Result<i64, AppError> {
        self.ids.next_id(&self.db, self.table()).await
    }
}

/// The one builder of a client for DynamoDB Local (tests, simulator, bench,
/// tools): loopback endpoint, dummy credentials, a fixed region. Callers add
/// their interceptors and build. `tag` names the credentials' provider.
pub fn local_config(endpoint: &str, tag: &'static str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, tag))
}

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

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

/// A range of one user's partition: `low <= SK <= high`, strongly consistent.
pub fn user_range_query(
    ctx: &Ctx,
    user_id: i64,
    low: &str,
    high: &str,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    ctx.db
        .query()
        .table_name(ctx.table())
        .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
        .expression_attribute_values(":pk", item::s(keys::user_pk(user_id)))
        .expression_attribute_values(":low", item::s(low))
        .expression_attribute_values(":high", item::s(high))
        .consistent_read(true)
}

/// Every item a Query returns, following its pages. `query` builds the
/// request for a page from the key to start at.
pub async fn query_all(
    query: impl Fn(
        Option<item::Item>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<item::Item>, AppError> {
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
