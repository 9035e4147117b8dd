# Creator wallet backend: developer and CI entry points (see README.md, "Tests").

SHELL := bash

.PHONY: help test fmt lint dynamodb dev fuzz simulate bench tools lint-infra test-scripts lambda deploy-plan

help:
	@echo "make test      install DynamoDB Local and the Python tools if missing, start"
	@echo "               DynamoDB Local on a free port, run fmt check, clippy, template"
	@echo "               and workflow lint, the scripts' tests and cargo tests, stop it"
	@echo "make fmt       format the code (cargo fmt --all)"
	@echo "make lint      fmt check and clippy -D warnings"
	@echo "make dynamodb  DynamoDB Local in the foreground on http://127.0.0.1:8000,"
	@echo "               data kept in .data/dynamodb (Ctrl-C stops it)"
	@echo "make dev       the whole API on http://127.0.0.1:3000 with demo data (Ctrl-C stops it)"
	@echo "make tools     the pinned Python tools (tools/requirements.txt) in .tools/venv"
	@echo "make lint-infra  sam validate --lint, cfn-lint template.yaml, actionlint (offline)"
	@echo "make test-scripts  the tests of scripts/ (deploy decisions, doc links)"
	@echo "make lambda    release zips of every function of template.yaml with cargo-lambda"
	@echo "               (target/lambda/NAME/bootstrap.zip; ARCH=arm64 for Graviton)"
	@echo "make deploy-plan BASE=rev [HEAD=rev]  what a push from BASE to HEAD deploys"
	@echo "make fuzz      schemathesis against walletctl serve (openapi.yaml), 0 server errors"
	@echo "make simulate SEED=n STEPS=n [FAULTS=1] [RESTARTS=1]  the seeded money-flow simulator"
	@echo "make bench [QUICK=1]  benchmarks; the full run writes docs/benchmarks.md"

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
	@bash scripts/dev.sh

tools:
	@bash scripts/tools.sh install

lint-infra:
	@bash scripts/lint-infra.sh

test-scripts:
	@bash scripts/tests/run.sh

ARCH ?= x86_64
lambda:
	@bash scripts/build-lambdas.sh --arch $(ARCH)

HEAD ?= HEAD
deploy-plan:
	@if [ -z "$(BASE)" ]; then echo "usage: make deploy-plan BASE=rev [HEAD=rev]" >&2; exit 2; fi
	@bash scripts/changed-functions.sh "$(BASE)" "$(HEAD)"

# fuzz, simulate and bench need DynamoDB Local: they start their own on a free port.
fuzz:
	@bash scripts/with-dynamodb.sh bash scripts/fuzz.sh

simulate:
	@bash scripts/with-dynamodb.sh env SEED=$(or $(SEED),1) STEPS=$(or $(STEPS),200) FAULTS=$(or $(FAULTS),0) RESTARTS=$(or $(RESTARTS),0) bash scripts/simulate.sh

bench:
	@bash scripts/with-dynamodb.sh bash scripts/bench.sh $(if $(QUICK),--quick,)
