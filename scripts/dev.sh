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

walletctl=target/debug/walletctl
"$walletctl" table create >/dev/null
echo "==> demo data"
"$walletctl" seed demo > .data/demo.json
python3 - "$PORT" <<'PY'
import json, sys
port = sys.argv[1]
demo = json.load(open(".data/demo.json"))
print("seeded now" if demo["seeded_now"] else "demo data was already there; fresh tokens:")
for u in demo["users"]:
    print(f"  {u['display_name']:<10} {u['currency']}  user {u['user_id']:<4} {u['role']}")
    print(f"      token   {u['token']}")
    print(f"      api key {u['api_key']}")
ann = demo["users"][0]["token"]
base = f"http://127.0.0.1:{port}"
print()
print("Try:")
print(f"  curl -H 'Authorization: Bearer {ann}' {base}/api/wallet")
print(f"  curl -H 'Authorization: Bearer {ann}' '{base}/api/wallet?page=2&limit=5'")
print(f"  curl -H 'Authorization: Bearer {ann}' {base}/api/wallet/affiliate")
print(f"  curl -H 'Authorization: Bearer {ann}' {base}/api/dashboard/summary")
print(f"  curl -X POST -H 'Authorization: Bearer {ann}' -d '{{}}' {base}/api/dashboard/summary/aggregate")
print(f"  curl -H 'Authorization: Bearer {ann}' {base}/api/user/linked-accounts")
print(f"  curl -X POST -H 'Authorization: Bearer {ann}' -H 'Idempotency-Key: try-1' {base}/api/wallet/cashout")
print(f"  curl -H 'Authorization: Bearer {ann}' {base}/api/wallet/payouts")
print()
print("Tokens are also in .data/demo.json. Ctrl-C stops everything.")
PY

echo "==> serving on http://127.0.0.1:$PORT"
"$walletctl" serve --port "$PORT"
