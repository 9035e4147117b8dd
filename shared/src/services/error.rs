//! The outcome of a request that did not succeed: a refusal by a rule, or a
//! failure. Its status codes and public messages are the HTTP edge's
//! (`http::error`); causes go to the log only.

pub use crate::store::error::BoxError;
use crate::store::StoreError;

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
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Throttled(_) => AppError::Throttled(Box::new(err)),
            _ => AppError::Internal(Box::new(err)),
        }
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
    fn cause_chain_lists_every_cause() {
        let err = AppError::internal(std::io::Error::other("disk gone"));
        assert_eq!(cause_chain(&err), "internal error: disk gone");
    }

    #[test]
    fn throttling_stays_throttling_and_the_rest_is_internal() {
        let throttled = AppError::from(StoreError::Throttled("slow".into()));
        assert!(matches!(throttled, AppError::Throttled(_)));
        let busy = AppError::from(StoreError::TooBusy {
            what: "the wallet".into(),
            attempts: 3,
        });
        assert!(matches!(busy, AppError::Internal(_)));
    }
}
