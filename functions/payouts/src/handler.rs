//! GET /api/wallet/payouts (a page of the creator's payouts, newest first) and
//! GET /api/wallet/payouts/{id} (one of them: where a cashout's `Location` points).

use domain::ids::parse_id;
use domain::token::Needs;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::http::request::authenticate;
use shared::http::request::page_request;
use shared::services::payouts::{read_own_payout, read_payout_page};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::or_error(payouts(ctx, &req).await).into_response()
}

async fn payouts(ctx: &Ctx, req: &Request) -> Result<ApiResponse, AppError> {
    let principal = authenticate(ctx, req, Needs::Session).await?;
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
