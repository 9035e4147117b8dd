//! Small helpers for API Gateway HTTP API requests.

use crate::error::AppError;
use crate::pagination::{parse_page_request, PageRequest};
use lambda_http::{Request, RequestExt};

/// A query parameter given more than once: ambiguous, so refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedParam;

/// The one value of a query parameter, if given.
pub fn single_query_param(req: &Request, name: &str) -> Result<Option<String>, RepeatedParam> {
    let params = req.query_string_parameters_ref();
    let values: Vec<&str> = params
        .map(|p| p.all(name).unwrap_or_default())
        .unwrap_or_default();
    match values.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).to_owned())),
        _ => Err(RepeatedParam),
    }
}

/// `page` and `limit` of the request, validated (page first).
pub fn page_request(req: &Request) -> Result<PageRequest, AppError> {
    let page = single_query_param(req, "page").map_err(|_| AppError::BadPage)?;
    let limit = single_query_param(req, "limit").map_err(|_| AppError::BadLimit)?;
    parse_page_request(page.as_deref(), limit.as_deref())
}
