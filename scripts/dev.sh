#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:3000 with demo data.
#
# Installs DynamoDB Local (and Java if missing), builds the functions and
# walletctl, starts DynamoDB Local on 127.0.0.1:${DYNAMODB_PORT:-8000} with its data
# in .data/dynamodb, creates the table, seeds the demo once (later runs print
# fresh tokens for the same demo users), prints tokens and curl lines, then runs
# `walletctl serve`, which starts the real function binaries behind a local
# Lambda Runtime API and runs release-holds every minute. Ctrl-C stops it all.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PORT="${PORT:-3000}"
export DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
export DYNAMODB_PIDFILE="$ROOT/.data/run/dynamodb-dev.pid"
export TABLE_NAME="${TABLE_NAME:-creator-wallet}"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export RUST_LOG="${RUST_LOG:-warn}"

echo "==> installing DynamoDB Local (once)"
bash scripts/dynamodb-local.sh install

echo "==> building the functions and walletctl"
cargo build --workspace --bins --quiet

cleanup() {
    bash scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in .data/dynamodb)"
mkdir -p .data/run .data/dynamodb
bash scripts/dynamodb-local.sh stop >/dev/null 2>&1 || true
endpoint=$(bash scripts/dynamodb-local.sh start --data .data/dynamodb)
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"

target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" == /* ]] || target_dir="$ROOT/$target_dir"
walletctl="$target_dir/debug/walletctl"
"$walletctl" table create >/dev/null
echo "==> demo data"
"$walletctl" seed demo > .data/demo.json
demo() { "$walletctl" json .data/demo.json "$@"; }
if [[ "$(demo /seeded_now)" == true ]]; then
    echo "seeded now"
else
    echo "demo data was already there; fresh tokens:"
fi
i=0
while fields="$(demo "/users/$i/display_name" "/users/$i/currency" "/users/$i/user_id" \
    "/users/$i/role" "/users/$i/token" "/users/$i/api_key" 2>/dev/null)"; do
    mapfile -t f <<<"$fields"
    printf '  %-10s %s  user %-4s %s\n' "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}"
    printf '      token   %s\n' "${f[4]}"
    printf '      api key %s\n' "${f[5]}"
    i=$((i + 1))
done
ann="$(demo /users/0/token)"
base="http://127.0.0.1:$PORT"
cat <<EOT

Try:
  curl -H 'Authorization: Bearer $ann' $base/api/wallet
  curl -H 'Authorization: Bearer $ann' '$base/api/wallet?page=2&limit=5'
  curl -H 'Authorization: Bearer $ann' $base/api/wallet/affiliate
  curl -H 'Authorization: Bearer $ann' $base/api/dashboard/summary
  curl -X POST -H 'Authorization: Bearer $ann' -d '{}' $base/api/dashboard/summary/aggregate
  curl -H 'Authorization: Bearer $ann' $base/api/user/linked-accounts
  curl -X POST -H 'Authorization: Bearer $ann' -H 'Idempotency-Key: try-1' $base/api/wallet/cashout
  curl -H 'Authorization: Bearer $ann' $base/api/wallet/payouts

Tokens are also in .data/demo.json. Ctrl-C stops everything.
EOT

echo "==> serving on http://127.0.0.1:$PORT"
"$walletctl" serve --port "$PORT"
