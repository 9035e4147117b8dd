//! POST /api/dashboard/summary/aggregate: KPIs merged over a master's linked
//! children (docs/api.md#aggregate). `additional_tokens` never grants access to anyone.

use domain::token::Needs;
use lambda_http::{Body, Request, Response};
use shared::http::request::authenticate;
use shared::services::dashboard::{aggregate, parse_aggregate_body, Summary};
use shared::{ApiResponse, AppError, Ctx};

pub async fn handle(ctx: &Ctx, req: Request) -> Response<Body> {
    ApiResponse::from_result(dashboard(ctx, &req).await).into_response()
}

async fn dashboard(ctx: &Ctx, req: &Request) -> Result<Summary, AppError> {
    let principal = authenticate(ctx, req, Needs::Session).await?;
    let additional_tokens = parse_aggregate_body(req.body().as_ref())?;
    aggregate(ctx, principal.user_id, additional_tokens.as_deref()).await
}
