//! Lambda entry point: init only. The handler is [`affiliate::handle`].

shared::http_function!(affiliate::handle);
