# Creator wallet backend: developer and CI entry points (see shared/SPEC.md, section 8).

SHELL := bash

.PHONY: help test fmt lint dynamodb dev

help:
	@echo "make test      install DynamoDB Local if missing, start it on a free port,"
	@echo "               run fmt check, clippy and cargo tests against it, stop it"
	@echo "make fmt       format the code (cargo fmt --all)"
	@echo "make lint      fmt check and clippy -D warnings"
	@echo "make dynamodb  DynamoDB Local in the foreground on http://127.0.0.1:8000,"
	@echo "               data kept in .data/dynamodb (Ctrl-C stops it)"
	@echo "make dev       the local API (not built yet)"

test:
	@bash scripts/test.sh

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

dynamodb:
	@bash scripts/dynamodb-local.sh install
	@DYNAMODB_PORT=$${DYNAMODB_PORT:-8000} bash scripts/dynamodb-local.sh run --data .data/dynamodb

dev:
	@echo "make dev: not built yet (see issue 6)"
	@exit 1
