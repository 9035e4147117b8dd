//! POST /api/wallet/cashout: a payout of the whole available balance (docs/api.md#cashout).
//! Any request body is ignored.

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::{authenticate, idempotency_key};
use shared::services::payouts::{self, Cashout};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::or_error(cashout(ctx, &req).await).into_response()
}

async fn cashout(ctx: &Ctx, req: &Request) -> Result<ApiResponse, AppError> {
    let principal = authenticate(ctx, req, Needs::Session).await?;
    let key = idempotency_key(req.headers())?;
    let stored_success = |payout_id| ApiResponse::cashout_created(payout_id).stored();
    match payouts::cashout(ctx, principal.user_id, key.as_deref(), stored_success).await? {
        Cashout::Created { payout_id } => Ok(ApiResponse::cashout_created(payout_id)),
        Cashout::Replayed(stored) => ApiResponse::replay(&stored),
    }
}
