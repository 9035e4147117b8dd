//! Lambda entry point: init only. The handler is [`cashout::handle`].

shared::http_function!(cashout::handle);
