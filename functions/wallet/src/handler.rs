//! GET /api/wallet: balances and a page of every public transaction (SPEC 4.1).

use lambda_http::{Body, Request, Response};
use shared::auth::{authenticate, Needs};
use shared::http::page_request;
use shared::wallet::{read_wallet, WalletView};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(wallet(ctx, &req).await).into_response()
}

async fn wallet(ctx: &Ctx, req: &Request) -> Result<WalletView, AppError> {
    let principal = authenticate(ctx, req.headers(), Needs::TransactionsRead).await?;
    let page = page_request(req)?;
    read_wallet(ctx, principal.user_id, page).await
}
