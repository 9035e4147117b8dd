//! The storage layer: everything that knows DynamoDB. Keys ([`keys`]), item
//! codecs ([`codec`]), reads ([`read`]), transactions and their cancellation
//! reasons ([`write`]), the one retry-on-conflict helper ([`retry`]), id
//! allocation ([`ids`]), the table ([`table`]) and its own [`StoreError`].

pub mod codec;
pub mod error;
pub mod ids;
pub mod item;
pub mod keys;
pub mod read;
pub mod retry;
pub mod table;
pub mod write;

pub use error::StoreError;

use domain::config::{Config, ConfigError};
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
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(aws_sdk_dynamodb::Client::new(&sdk), config))
    }

    pub fn table(&self) -> &str {
        &self.config.table_name
    }

    /// A new system-wide id (see [`ids`]).
    pub async fn next_id(&self) -> Result<i64, StoreError> {
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
