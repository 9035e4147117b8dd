//! GET /api/wallet/affiliate: referral revenue and a page of affiliate earnings (docs/api.md#affiliate).

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::authenticate;
use shared::http::request::page_request;
use shared::services::wallet::{read_affiliate, AffiliateView};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(affiliate(ctx, &req).await).into_response()
}

async fn affiliate(ctx: &Ctx, req: &Request) -> Result<AffiliateView, AppError> {
    let principal = authenticate(ctx, req, Needs::TransactionsRead).await?;
    let page = page_request(req)?;
    read_affiliate(ctx, principal.user_id, page).await
}
