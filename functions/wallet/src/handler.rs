//! GET /api/wallet: balances and a page of every public transaction (docs/api.md#wallet).

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::authenticate;
use shared::http::request::page_request;
use shared::services::wallet::{read_wallet, WalletView};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(wallet(ctx, &req).await).into_response()
}

async fn wallet(ctx: &Ctx, req: &Request) -> Result<WalletView, AppError> {
    let principal = authenticate(ctx, req, Needs::TransactionsRead).await?;
    let page = page_request(req)?;
    read_wallet(ctx, principal.user_id, page).await
}
