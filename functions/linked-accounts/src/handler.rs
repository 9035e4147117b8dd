//! GET /api/user/linked-accounts: the bearer's account group.

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::authenticate;
use shared::services::links::{linked_accounts, LinkedAccountsView};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(group(ctx, &req).await).into_response()
}

async fn group(ctx: &Ctx, req: &Request) -> Result<LinkedAccountsView, AppError> {
    let principal = authenticate(ctx, req, Needs::Session).await?;
    linked_accounts(ctx, principal.user_id).await
}
