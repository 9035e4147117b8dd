#!/usr/bin/env bash
# Benchmarks of the functions (bench/): cold start against the floors F0/F1, warm
# latency against the DynamoDB floors (the same requests made with the SDK, and
# replayed raw), DynamoDB requests and round trips per endpoint, peak RSS,
# bootstrap and zip sizes, aggregate and history scaling, ledger throughput (one
# hot wallet and many wallets, 1 to 4 concurrent ledger processes).
#
# Usage:
#   scripts/bench.sh           full run: release zips with cargo-lambda (every
#                              function of template.yaml plus the floors
#                              floor_f0 and floor_f1), then the bench in release
#                              mode; writes docs/benchmarks.md
#   scripts/bench.sh --quick   a few iterations on the debug binaries (built
#                              here if missing, normally by the tests); prints the
#                              report and a closing summary line, writes nothing
#
# DynamoDB Local must run already: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:PORT
# (the bench uses a table of its own and deletes it). Credentials and region
# default to dummy values for DynamoDB Local.
# Environment: BENCH_OUT (full mode, default docs/benchmarks.md), CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    "") ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

: "${AWS_ENDPOINT_URL_DYNAMODB:?set AWS_ENDPOINT_URL_DYNAMODB to DynamoDB Local (http://127.0.0.1:PORT)}"
export AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

target="${CARGO_TARGET_DIR:-$ROOT/target}"
mapfile -t functions < <(bash scripts/changed-functions.sh --list | cut -d' ' -f2)

if ((quick)); then
    pkgs=()
    for f in "${functions[@]}"; do pkgs+=(-p "$f"); done
    # A no-op when the tests already built them.
    cargo build --quiet "${pkgs[@]}" -p bench --bins
    exec "$target/debug/bench" --quick --bin-dir "$target/debug"
fi

bash scripts/tools.sh install-build
export PATH="$ROOT/.tools/venv/bin:$PATH"
args=()
for f in "${functions[@]}" floor_f0 floor_f1; do args+=(--bin "$f"); done
echo "==> cargo lambda build --release --x86-64 --output-format zip ${args[*]}" >&2
cargo lambda build --release --x86-64 --output-format zip "${args[@]}"
# The zips are what Lambda runs: the bench runs the bootstrap inside each.
for f in "${functions[@]}" floor_f0 floor_f1; do
    unzip -o -q "$target/lambda/$f/bootstrap.zip" -d "$target/lambda/$f"
done
out="${BENCH_OUT:-$ROOT/docs/benchmarks.md}"
cargo run --quiet -p bench --release -- --bin-dir "$target/lambda" --out "$out"
