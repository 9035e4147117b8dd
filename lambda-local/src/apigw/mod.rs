//! What API Gateway (HTTP API, Lambda proxy integration, payload format 2.0)
//! does around a function: route matching ([`Router`]), the request event
//! ([`request_event`]), and the interpretation of the function's response
//! ([`response_from_payload`]). Pure functions, tested here.

mod event;
mod response;
mod router;

pub use event::{request_event, RequestMeta};
pub use response::{response_from_payload, ProxyResponse};
pub use router::{RouteMatch, Router};

/// API Gateway's own answers (not from a function).
pub const NOT_FOUND_BODY: &str = r#"{"message":"Not Found"}"#;
pub const INTERNAL_ERROR_BODY: &str = r#"{"message":"Internal Server Error"}"#;
pub const TOO_LARGE_BODY: &str = r#"{"message":"Request Entity Too Large"}"#;

/// HTTP APIs accept request bodies up to 10 MB.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// Decodes `%XX` escapes (not `+`); invalid escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_leaves_bad_escapes_alone() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
