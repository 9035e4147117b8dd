#!/usr/bin/env bash
# The seeded simulator (`sim/`): a random mix of money operations over many
# creators through the real handlers, checked against an independent model
# after every step (SPEC section 5). With FAULTS=1 a loopback proxy in front of
# DynamoDB Local fails requests on a seeded schedule (500, throttling, dropped
# connections before and after the write, latency).
#
# Assumes DynamoDB Local is up at $AWS_ENDPOINT_URL_DYNAMODB (127.0.0.1 only).
# Creates a table of its own (deleted at the end unless a violation was found).
# Prints seed, steps, operations by kind, faults injected, violations; exits
# non-zero on any violation. A failing seed replays with the same SEED/STEPS/
# CREATORS/FAULTS (the "model digest" line is identical for identical runs
# without faults).
#
# Environment:
#   SEED      the seed (default 1)
#   STEPS     the number of steps (default 200)
#   CREATORS  the number of creators (default 6)
#   FAULTS    1: inject faults in every other block of 10 steps (default 0)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

endpoint="${AWS_ENDPOINT_URL_DYNAMODB:-}"
if [[ -z "$endpoint" ]]; then
    echo "simulate: AWS_ENDPOINT_URL_DYNAMODB is not set (start DynamoDB Local first)" >&2
    exit 2
fi
case "$endpoint" in
    http://127.0.0.1:*) ;;
    *) echo "simulate: AWS_ENDPOINT_URL_DYNAMODB must be DynamoDB Local on http://127.0.0.1:PORT, not $endpoint" >&2; exit 2 ;;
esac
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_EC2_METADATA_DISABLED=true

args=(--seed "${SEED:-1}" --steps "${STEPS:-200}" --creators "${CREATORS:-6}")
if [[ "${FAULTS:-0}" == "1" ]]; then
    args+=(--faults)
fi
cargo build -q -p sim
exec "$ROOT/target/debug/sim" "${args[@]}"
