#!/usr/bin/env bash
# The seeded simulator (`sim/`): a random mix of money operations over many
# creators through the real handlers, checked against an independent model
# after every step (docs/ledger.md). With FAULTS=1 a loopback proxy in front of
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
#   RESTARTS  1: the run starts a DynamoDB Local of its own with its data on
#             disk and kills it (SIGKILL) and starts it again on a seeded
#             schedule, mid-step and between steps (default 0);
#             AWS_ENDPOINT_URL_DYNAMODB is then not needed
#   REPLAY    1: run twice and check that the operations and the model digest
#             are the same (without FAULTS and RESTARTS)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${RESTARTS:-0}" != "1" ]]; then
    endpoint="${AWS_ENDPOINT_URL_DYNAMODB:-}"
    if [[ -z "$endpoint" ]]; then
        echo "simulate: AWS_ENDPOINT_URL_DYNAMODB is not set (start DynamoDB Local first)" >&2
        exit 2
    fi
    case "$endpoint" in
        http://127.0.0.1:*) ;;
        *) echo "simulate: AWS_ENDPOINT_URL_DYNAMODB must be DynamoDB Local on http://127.0.0.1:PORT, not $endpoint" >&2; exit 2 ;;
    esac
fi
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_EC2_METADATA_DISABLED=true

args=(--seed "${SEED:-1}" --steps "${STEPS:-200}" --creators "${CREATORS:-6}")
if [[ "${FAULTS:-0}" == "1" ]]; then
    args+=(--faults)
fi
if [[ "${RESTARTS:-0}" == "1" ]]; then
    args+=(--restarts "$(bash scripts/dynamodb-local.sh jar-dir)")
fi
cargo build -q -p sim
if [[ "${REPLAY:-0}" != "1" ]]; then
    exec "$ROOT/target/debug/sim" "${args[@]}"
fi
# REPLAY=1: the same run twice; the operations and the model digest must be
# identical (a failing seed replays exactly). Only meaningful without faults
# and restarts, whose timing is the machine's.
if [[ "${FAULTS:-0}" == "1" || "${RESTARTS:-0}" == "1" ]]; then
    echo "simulate: REPLAY=1 compares runs without FAULTS and RESTARTS" >&2
    exit 2
fi
first="$(mktemp)"
second="$(mktemp)"
trap 'rm -f "$first" "$second"' EXIT
"$ROOT/target/debug/sim" "${args[@]}" | tee "$first"
"$ROOT/target/debug/sim" "${args[@]}" >"$second"
replayed() { grep -E '^(operations|model digest|violations):' "$1"; }
if ! diff <(replayed "$first") <(replayed "$second") >&2; then
    echo "simulate: the replay of seed ${SEED:-1} differs from the first run (above)" >&2
    exit 1
fi
echo "simulate: replayed seed ${SEED:-1}: the same operations and model digest"
