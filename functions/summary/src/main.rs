//! Lambda entry point: init only. The handler is [`summary::handle`].

shared::http_function!(summary::handle);
