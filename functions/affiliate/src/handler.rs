//! GET /api/wallet/affiliate: referral revenue and a page of affiliate earnings (SPEC 4.2).

use lambda_http::{Body, Request, Response};
use shared::auth::{authenticate, Needs};
use shared::http::page_request;
use shared::wallet::{read_affiliate, AffiliateView};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(affiliate(ctx, &req).await).into_response()
}

async fn affiliate(ctx: &Ctx, req: &Request) -> Result<AffiliateView, AppError> {
    let principal = authenticate(ctx, req.headers(), Needs::TransactionsRead).await?;
    let page = page_request(req)?;
    read_affiliate(ctx, principal.user_id, page).await
}
