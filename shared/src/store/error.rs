//! The storage layer's own error, and the one classification of DynamoDB's
//! answers: throttling ("slow down") apart from every other failure.

use super::item::ItemError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled the request (after the SDK's own retries).
    #[error("DynamoDB throttled the request")]
    Throttled(#[source] BoxError),
    /// An optimistic write kept losing its race for the same items.
    #[error("gave up after {attempts} attempts: {what} is too busy")]
    TooBusy { what: String, attempts: u32 },
    /// A stored item that does not parse.
    #[error("a stored item does not parse")]
    Corrupt(#[from] ItemError),
    /// Any other failure of a request (the service, the connection, a bug).
    #[error("DynamoDB request failed")]
    Failed(#[source] BoxError),
}

impl StoreError {
    pub fn failed(cause: impl Into<BoxError>) -> Self {
        StoreError::Failed(cause.into())
    }
}

/// DynamoDB error codes that mean "slow down", not "broken" (a cancelled
/// transaction reports `ThrottlingError` as an item's reason).
const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ThrottlingError",
];

pub fn is_throttling_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let throttled = is_throttling_code(err.code());
        let cause: BoxError = Box::new(err);
        if throttled {
            StoreError::Throttled(cause)
        } else {
            StoreError::Failed(cause)
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::failed(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_recognised() {
        assert!(is_throttling_code(Some(
            "ProvisionedThroughputExceededException"
        )));
        assert!(is_throttling_code(Some("ThrottlingException")));
        assert!(!is_throttling_code(Some("ConditionalCheckFailedException")));
        assert!(!is_throttling_code(None));
    }
}
