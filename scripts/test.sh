#!/usr/bin/env bash
# `make test`: start a DynamoDB Local of its own on a free loopback port, run
# every check against it, and stop it again whatever happens. Exits with the
# exit code of the first failing step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DDB=(bash "$ROOT/scripts/dynamodb-local.sh")
# A pid file of its own, so that a `make dev` instance is left alone.
export DYNAMODB_PIDFILE="$ROOT/.tools/dynamodb/run/test-$$.pid"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    echo "==> stopping DynamoDB Local"
    "${DDB[@]}" stop || true
    if [[ $rc -eq 0 ]]; then
        rm -f "${DYNAMODB_PIDFILE%.pid}.log"
        echo "==> make test: all steps passed"
    else
        echo "==> make test: FAILED (exit code $rc); DynamoDB Local's log: ${DYNAMODB_PIDFILE%.pid}.log"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> installing DynamoDB Local (skipped when already there)"
"${DDB[@]}" install

echo "==> installing the Python tools (skipped when already there)"
bash "$ROOT/scripts/tools.sh" install

echo "==> starting DynamoDB Local"
endpoint="$("${DDB[@]}" start)"

export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
echo "    AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB AWS_REGION=$AWS_REGION (dummy credentials)"

step() {
    echo
    echo "==> [$1] ${*:2}"
    "${@:2}"
}

step 1/9 cargo fmt --all -- --check
step 2/9 cargo clippy --workspace --all-targets -- -D warnings
# The lint and script steps are quick, so they come before the cargo tests.
step 3/9 bash scripts/lint-infra.sh template
step 4/9 bash scripts/lint-infra.sh workflows
step 5/9 bash scripts/tests/run.sh
step 6/9 cargo test --workspace --no-fail-fast
# These use the binaries the tests built.
step 7/9 bash scripts/fuzz.sh
step 8/9 env SEED=1 STEPS=200 REPLAY=1 bash scripts/simulate.sh
step 8/9 env SEED=2 STEPS=80 FAULTS=1 RESTARTS=1 bash scripts/simulate.sh
step 9/9 bash scripts/bench.sh --quick
