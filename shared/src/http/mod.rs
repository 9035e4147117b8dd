//! The HTTP edge: how a request's outcome becomes a response (status codes
//! and exact messages in [`error`], the [`envelope`]) and what is read from a
//! request ([`request`]: query parameters, the bearer token, the
//! Idempotency-Key).

pub mod envelope;
pub mod error;
pub mod request;
