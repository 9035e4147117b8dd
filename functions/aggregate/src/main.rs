//! Lambda entry point: init only. The handler is [`aggregate::handle`].

shared::http_function!(aggregate::handle);
