//! Lambda entry point: init only. The handler is [`payouts::handle`].

shared::http_function!(payouts::handle);
