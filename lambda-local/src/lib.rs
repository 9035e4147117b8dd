//! A local AWS Lambda execution environment, without Docker.
//!
//! - [`api`]: the Lambda Runtime API (`/2018-06-01/runtime/...`, the real
//!   protocol) on 127.0.0.1 for one function process: `invocation/next`,
//!   `invocation/{id}/response`, `invocation/{id}/error`, `init/error`, the
//!   deadline and the other headers Lambda gives with an event.
//! - [`spec`]: how a function runs (its binary, the environment Lambda gives it).
//! - [`runtime`]: one warm process per function, started on the first
//!   invocation, with Lambda's init and invocation timeouts (`walletctl serve`
//!   and `walletctl invoke`).
//! - [`apigw`]: what API Gateway (HTTP API, payload format 2.0) does around a
//!   function: route matching, the request event, the reading of the response.
//!
//! The bench drives [`api::RuntimeApi`] directly (it starts and times the
//! processes itself); `walletctl` uses [`runtime::FunctionRuntime`].

pub mod api;
pub mod apigw;
mod ids;
mod outcome;
mod process;
pub mod runtime;
pub mod spec;

pub use ids::{request_id, trace_id};
pub use outcome::{FunctionError, Invocation, Outcome};
pub use runtime::FunctionRuntime;
pub use spec::FunctionSpec;
