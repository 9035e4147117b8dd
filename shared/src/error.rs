//! The one error type of the public API, and the one place that maps it to a
//! status code and a public message (SPEC section 3). Causes go to the log only.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("child account sent additional_tokens")]
    ChildCannotAggregate,
    #[error("no available funds")]
    NoAvailableFunds,
    #[error("payout details are missing")]
    PayoutDetailsMissing,
    #[error("below the minimum cashout of {minimum} {currency_code}")]
    BelowMinimum {
        minimum: i64,
        currency_code: &'static str,
    },
    #[error("bad page parameter")]
    BadPage,
    #[error("bad limit parameter")]
    BadLimit,
    #[error("body is not valid JSON")]
    InvalidJson,
    #[error("body is not a JSON object")]
    NotAnObject,
    #[error("additional_tokens is not an array of strings")]
    BadAdditionalTokens,
    #[error("bad Idempotency-Key header")]
    BadIdempotencyKey,
    #[error("idempotency key in flight")]
    IdempotencyInFlight,
    #[error("route not found")]
    NotFound,
    #[error("DynamoDB throttled the request")]
    Throttled(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AppError {
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        AppError::Internal(cause.into())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden | AppError::ChildCannotAggregate => 403,
            AppError::NotFound => 404,
            AppError::IdempotencyInFlight => 409,
            AppError::InvalidJson => 400,
            AppError::NoAvailableFunds
            | AppError::PayoutDetailsMissing
            | AppError::BelowMinimum { .. }
            | AppError::BadPage
            | AppError::BadLimit
            | AppError::NotAnObject
            | AppError::BadAdditionalTokens
            | AppError::BadIdempotencyKey => 422,
            AppError::Throttled(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// The exact public message (`errors_message`) of this error.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unauthenticated => "Unauthenticated.".into(),
            AppError::Forbidden => "Forbidden".into(),
            AppError::ChildCannotAggregate => {
                "Child accounts cannot aggregate other accounts.".into()
            }
            AppError::NoAvailableFunds => "No available funds".into(),
            AppError::PayoutDetailsMissing => "Payout details are missing.".into(),
            AppError::BelowMinimum {
                minimum,
                currency_code,
            } => format!(
                "The minimum cashout amount is {} {currency_code}.",
                crate::currency::format_minor(*minimum)
            ),
            AppError::BadPage => "The page must be an integer of at least 1.".into(),
            AppError::BadLimit => "The limit must be an integer between 1 and 100.".into(),
            AppError::InvalidJson => "The request body must be valid JSON.".into(),
            AppError::NotAnObject => "The request body must be a JSON object.".into(),
            AppError::BadAdditionalTokens => {
                "The additional tokens must be an array of strings.".into()
            }
            AppError::BadIdempotencyKey => {
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.".into()
            }
            AppError::IdempotencyInFlight => {
                "A request with this Idempotency-Key is still in progress.".into()
            }
            AppError::NotFound => "Not Found".into(),
            AppError::Throttled(_) => "Service Unavailable".into(),
            AppError::Internal(_) => "Server Error".into(),
        }
    }
}

/// DynamoDB error codes that mean "slow down", not "broken".
const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ThrottlingError",
];

pub fn is_throttling_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

impl<E, R> From<SdkError<E, R>> for AppError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let throttled = is_throttling_code(err.code());
        let cause: BoxError = Box::new(err);
        if throttled {
            AppError::Throttled(cause)
        } else {
            AppError::Internal(cause)
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for AppError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        AppError::internal(err)
    }
}

/// The error and its whole cause chain, for the log.
pub fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_messages_match_the_spec_table() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::Unauthenticated, 401, "Unauthenticated."),
            (AppError::Forbidden, 403, "Forbidden"),
            (
                AppError::ChildCannotAggregate,
                403,
                "Child accounts cannot aggregate other accounts.",
            ),
            (AppError::NoAvailableFunds, 422, "No available funds"),
            (
                AppError::PayoutDetailsMissing,
                422,
                "Payout details are missing.",
            ),
            (
                AppError::BelowMinimum {
                    minimum: 1000,
                    currency_code: "USD",
                },
                422,
                "The minimum cashout amount is 10.00 USD.",
            ),
            (
                AppError::BadPage,
                422,
                "The page must be an integer of at least 1.",
            ),
            (
                AppError::BadLimit,
                422,
                "The limit must be an integer between 1 and 100.",
            ),
            (
                AppError::InvalidJson,
                400,
                "The request body must be valid JSON.",
            ),
            (
                AppError::NotAnObject,
                422,
                "The request body must be a JSON object.",
            ),
            (
                AppError::BadAdditionalTokens,
                422,
                "The additional tokens must be an array of strings.",
            ),
            (
                AppError::BadIdempotencyKey,
                422,
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            ),
            (
                AppError::IdempotencyInFlight,
                409,
                "A request with this Idempotency-Key is still in progress.",
            ),
            (
                AppError::Throttled("slow".into()),
                503,
                "Service Unavailable",
            ),
            (AppError::internal("secret detail"), 500, "Server Error"),
        ];
        for (err, status, message) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.public_message(), message, "{err:?}");
        }
    }

    #[test]
    fn throttling_codes_are_recognised() {
        assert!(is_throttling_code(Some(
            "ProvisionedThroughputExceededException"
        )));
        assert!(is_throttling_code(Some("ThrottlingException")));
        assert!(!is_throttling_code(Some("ConditionalCheckFailedException")));
        assert!(!is_throttling_code(None));
    }

    #[test]
    fn cause_chain_lists_every_cause() {
        let err = AppError::internal(std::io::Error::other("disk gone"));
        assert_eq!(cause_chain(&err), "internal error: disk gone");
    }
}
