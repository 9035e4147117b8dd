//! The one place that maps a request's outcome to a status code and an
//! exact public message (docs/api.md, "Status codes and messages").

use crate::services::error::AppError;
use domain::pagination::PageError;

impl AppError {
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
                domain::currency::format_minor(*minimum)
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

impl From<PageError> for AppError {
    fn from(err: PageError) -> Self {
        match err {
            PageError::BadPage => AppError::BadPage,
            PageError::BadLimit => AppError::BadLimit,
        }
    }
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
    fn page_errors_keep_their_messages() {
        assert_eq!(
            AppError::from(PageError::BadPage).public_message(),
            "The page must be an integer of at least 1."
        );
        assert_eq!(
            AppError::from(PageError::BadLimit).public_message(),
            "The limit must be an integer between 1 and 100."
        );
    }
}
