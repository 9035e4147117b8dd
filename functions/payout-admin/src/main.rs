//! Lambda entry point: init only. The handler is [`payout_admin::handle`].
// The handler's future nests deeply (retries inside events inside batches).
#![recursion_limit = "256"]

shared::event_function!(payout_admin::handle);
