#!/usr/bin/env bash
# Runs a command with a DynamoDB Local of its own on a free port of 127.0.0.1
# (AWS_ENDPOINT_URL_DYNAMODB and dummy credentials set), and stops it afterwards.
# Usage: scripts/with-dynamodb.sh COMMAND [ARGS...]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DYNAMODB_PIDFILE="$ROOT/.tools/dynamodb/run/with-dynamodb-$$.pid"
DDB=(bash "$ROOT/scripts/dynamodb-local.sh")
trap '"${DDB[@]}" stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${DDB[@]}" install
AWS_ENDPOINT_URL_DYNAMODB="$("${DDB[@]}" start)"
export AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
cd "$ROOT"
"$@"
