//! Lambda entry point: init only. The handler is [`linked_accounts::handle`].

shared::http_function!(linked_accounts::handle);
