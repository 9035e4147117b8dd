//! Lambda entry point: init only. The handler is [`release_holds::handle`].
// The handler's future nests deeply (retries inside events inside batches).
#![recursion_limit = "256"]

shared::event_function!(release_holds::handle);
