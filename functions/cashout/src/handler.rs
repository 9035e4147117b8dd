//! POST /api/wallet/cashout: a payout of the whole available balance (SPEC 4.3).
//! Any request body is ignored.

use lambda_http::{Body, Request, Response};
use shared::auth::{authenticate, Needs};
use shared::{idempotency, payouts, ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    match cashout(ctx, &req).await {
        Ok(response) => response,
        Err(err) => ApiResponse::error(&err),
    }
    .into_response()
}

async fn cashout(ctx: &Ctx, req: &Request) -> Result<ApiResponse, AppError> {
    let principal = authenticate(ctx, req.headers(), Needs::Session).await?;
    let key = idempotency::parse_key(req.headers())?;
    payouts::cashout(ctx, principal.user_id, key.as_deref()).await
}
