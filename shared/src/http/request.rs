//! What is read from an API Gateway HTTP API request: the bearer token,
//! query parameters, pages.

use crate::services::auth;
use crate::services::error::AppError;
use crate::store::Ctx;
use domain::pagination::{parse_page_request, PageRequest};
use domain::token::{parse_token, Needs, Principal};
use lambda_http::http::HeaderMap;
use lambda_http::{Request, RequestExt};

/// Splits `Authorization: Bearer <id>|<secret>` (the scheme word in any
/// case, the header exactly once). `None` when malformed.
pub fn parse_bearer(headers: &HeaderMap) -> Option<(i64, &str)> {
    let mut values = headers.get_all("authorization").iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    parse_token(token)
}

/// The caller of `req`, if its token may do what the route `needs`.
pub async fn authenticate(ctx: &Ctx, req: &Request, needs: Needs) -> Result<Principal, AppError> {
    auth::authenticate(ctx, parse_bearer(req.headers()), needs).await
}

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

/// The Idempotency-Key header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The key of the request, if it sent one: 1 to 255 visible ASCII characters,
/// given once.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AppError::BadIdempotencyKey);
    }
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(AppError::BadIdempotencyKey);
    }
    String::from_utf8(bytes.to_vec())
        .map(Some)
        .map_err(|_| AppError::BadIdempotencyKey)
}

/// `page` and `limit` of the request, validated (page first).
pub fn page_request(req: &Request) -> Result<PageRequest, AppError> {
    let page = single_query_param(req, "page").map_err(|_| AppError::BadPage)?;
    let limit = single_query_param(req, "limit").map_err(|_| AppError::BadLimit)?;
    Ok(parse_page_request(page.as_deref(), limit.as_deref())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("authorization", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_sanctum_bearer_tokens() {
        assert_eq!(
            parse_bearer(&headers(&["Bearer 12|abc"])),
            Some((12, "abc"))
        );
        assert_eq!(
            parse_bearer(&headers(&["bearer 12|abc"])),
            Some((12, "abc"))
        );
        assert_eq!(
            parse_bearer(&headers(&["BEARER  12|a|b "])),
            Some((12, "a|b"))
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic 12|abc",
            "Bearer 12",
            "Bearer |abc",
            "Bearer 12|",
            "Bearer -1|abc",
            "Bearer +1|abc",
            "Bearer 0|abc",
            "Bearer 9007199254740992|abc",
            "Bearer 99999999999999999999|abc",
            "Bearer x|abc",
            "Token 1|a",
        ] {
            assert_eq!(parse_bearer(&headers(&[bad])), None, "{bad:?}");
        }
        assert_eq!(parse_bearer(&HeaderMap::new()), None);
        assert_eq!(parse_bearer(&headers(&["Bearer 1|a", "Bearer 1|a"])), None);
    }

    fn key(values: &[&[u8]]) -> Result<Option<String>, String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(IDEMPOTENCY_KEY, HeaderValue::from_bytes(v).unwrap());
        }
        idempotency_key(&h).map_err(|e| e.public_message())
    }

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert_eq!(key(&[]), Ok(None));
        assert_eq!(key(&[b"abc-123_!~"]), Ok(Some("abc-123_!~".into())));
        assert_eq!(
            key(&["k".repeat(255).as_bytes()]),
            Ok(Some("k".repeat(255)))
        );
        let msg = "The Idempotency-Key header must be 1 to 255 visible ASCII characters.";
        for bad in [
            &b""[..],
            b"a b",
            b"tab\there",
            "é".as_bytes(),
            "k".repeat(256).as_bytes(),
        ] {
            assert_eq!(key(&[bad]), Err(msg.to_owned()), "{bad:?}");
        }
        assert_eq!(key(&[b"a", b"b"]), Err(msg.to_owned()));
    }
}
