//! GET /api/dashboard/summary: the bearer's dashboard KPIs (docs/api.md#summary), always
//! about the bearer alone, master or not.

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::authenticate;
use shared::services::dashboard::{summary, Summary};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(dashboard(ctx, &req).await).into_response()
}

async fn dashboard(ctx: &Ctx, req: &Request) -> Result<Summary, AppError> {
    let principal = authenticate(ctx, req, Needs::Session).await?;
    summary(ctx, principal.user_id).await
}
