//! Lambda entry point: init only. The handler is [`wallet::handle`].

shared::http_function!(wallet::handle);
