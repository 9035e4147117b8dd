//! GET /api/wallet/payouts (a page of the creator's payouts, newest first) and
//! GET /api/wallet/payouts/{id} (one of them: where a cashout's `Location` points).

use lambda_http::{Body, Request, RequestExt, Response};
use shared::auth::{authenticate, Needs};
use shared::db::ids::MAX_ID;
use shared::http::page_request;
use shared::payouts::{read_own_payout, read_payout_page};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    match payouts(ctx, &req).await {
        Ok(response) => response,
        Err(err) => ApiResponse::error(&err),
    }
    .into_response()
}

async fn payouts(ctx: &Ctx, req: &Request) -> Result<ApiResponse, AppError> {
    let principal = authenticate(ctx, req.headers(), Needs::Session).await?;
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .map(str::to_owned);
    match id {
        None => {
            let page = page_request(req)?;
            Ok(ApiResponse::ok(
                read_payout_page(ctx, principal.user_id, page).await?,
            ))
        }
        Some(id) => {
            // Another user's payout is as unknown as one that does not exist.
            let id = parse_id(&id).ok_or(AppError::NotFound)?;
            let payout = read_own_payout(ctx, principal.user_id, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(ApiResponse::ok(payout))
        }
    }
}

fn parse_id(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 16 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|id| (1..=MAX_ID).contains(id))
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_are_positive_integers_below_2_pow_53() {
        assert_eq!(parse_id("7"), Some(7));
        assert_eq!(parse_id("007"), Some(7));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "9007199254740992",
            "99999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
