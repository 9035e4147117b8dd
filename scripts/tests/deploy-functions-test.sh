#!/usr/bin/env bash
# Tests of `scripts/deploy.sh functions` and `stack-exists` with a stand-in
# `aws` command (it answers like the AWS CLI and logs every call) and a
# stand-in build (BUILD_LAMBDAS), so that no AWS account, network or cargo
# build is needed. Ends with "N passed, M failed"; exits 1 if any failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$ROOT/scripts/deploy.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/deploy-functions-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin"

# The stand-in AWS CLI. The stack "wallet-stack" has WalletFunction,
# LedgerFunction (arm64) and CashoutFunction; every call goes to $WORK/calls.
cat >"$WORK/bin/aws" <<'SH'
#!/usr/bin/env bash
echo "aws $*" >>"$AWS_STUB_CALLS"
arg() { # the value after option $1
    local want="$1"; shift
    while [[ $# -gt 0 ]]; do [[ "$1" == "$want" ]] && { echo "$2"; return; }; shift; done
}
all="$*"
case "$1 $2" in
    "cloudformation describe-stacks")
        [[ "$(arg --stack-name "$@")" == wallet-stack ]] && { echo CREATE_COMPLETE; exit 0; }
        [[ -n "${AWS_STUB_DENY:-}" ]] && { echo "An error occurred (AccessDenied)" >&2; exit 254; }
        echo "An error occurred (ValidationError): Stack does not exist" >&2; exit 254 ;;
    "cloudformation describe-stack-resource")
        id="$(arg --logical-resource-id "$@")"
        case "$id" in
            WalletFunction | LedgerFunction | CashoutFunction) echo "wallet-stack-$id-AbC123" ;;
            *) echo "An error occurred (ValidationError): Resource $id does not exist" >&2; exit 254 ;;
        esac ;;
    "lambda get-function-configuration")
        case "$(arg --function-name "$@")" in
            *LedgerFunction*) echo arm64 ;;
            *) echo x86_64 ;;
        esac ;;
    "lambda update-function-code") echo "sha-of-$(arg --zip-file "$@")" ;;
    "lambda wait") exit 0 ;;
    *) echo "stub aws: unexpected call: $all" >&2; exit 99 ;;
esac
SH
# The stand-in build: makes ARCH/BINARY/bootstrap.zip, prints the folder last.
cat >"$WORK/bin/fake-build" <<'SH'
#!/usr/bin/env bash
[[ "$1" == --arch ]] || exit 2
arch="$2"; shift 2
echo "build $arch $*" >>"$AWS_STUB_CALLS"
for b in "$@"; do mkdir -p "$BUILD_OUT/$arch/$b"; echo zip >"$BUILD_OUT/$arch/$b/bootstrap.zip"; done
echo "some cargo output"
echo "$BUILD_OUT/$arch"
SH
chmod +x "$WORK/bin/aws" "$WORK/bin/fake-build"

export PATH="$WORK/bin:$PATH" AWS_STUB_CALLS="$WORK/calls" BUILD_OUT="$WORK/out"
export BUILD_LAMBDAS="$WORK/bin/fake-build" STACK_NAME=wallet-stack AWS_REGION=eu-west-1

passed=0
failed=0
check() { # NAME CONDITION...
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name"
        sed 's/^/      call: /' "$AWS_STUB_CALLS" 2>/dev/null || true
        sed 's/^/      stderr: /' "$WORK/stderr" 2>/dev/null || true
    fi
}
calls() { cat "$AWS_STUB_CALLS" 2>/dev/null || true; }
has_call() { grep -qxF -- "$1" "$AWS_STUB_CALLS"; }
no_call_like() { ! grep -q -- "$1" "$AWS_STUB_CALLS" 2>/dev/null; }
deploy() { # ARGS...: runs deploy.sh, sets RC
    rm -f "$AWS_STUB_CALLS"
    rm -rf "$BUILD_OUT"
    RC=0
    bash "$DEPLOY" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || RC=$?
}

# Two functions on x86_64 and one on arm64.
printf 'WalletFunction wallet\nLedgerFunction ledger\nCashoutFunction cashout\n' >"$WORK/plan"
deploy functions "$WORK/plan"
check "three functions: exit 0" test "$RC" -eq 0
check "looks up each physical name in the stack" has_call \
    "aws cloudformation describe-stack-resource --stack-name wallet-stack --logical-resource-id LedgerFunction --query StackResourceDetail.PhysicalResourceId --output text"
check "one build per architecture, with the binaries of that architecture" \
    test "$(grep '^build' "$AWS_STUB_CALLS")" == "$(printf 'build x86_64 wallet cashout\nbuild arm64 ledger')"
check "updates each function with its own zip" has_call \
    "aws lambda update-function-code --function-name wallet-stack-LedgerFunction-AbC123 --zip-file fileb://$BUILD_OUT/arm64/ledger/bootstrap.zip --query CodeSha256 --output text"
check "updates wallet with the x86_64 zip" has_call \
    "aws lambda update-function-code --function-name wallet-stack-WalletFunction-AbC123 --zip-file fileb://$BUILD_OUT/x86_64/wallet/bootstrap.zip --query CodeSha256 --output text"
check "waits for each update" test "$(grep -c '^aws lambda wait function-updated' "$AWS_STUB_CALLS")" -eq 3
check "three updates in all" test "$(grep -c 'update-function-code' "$AWS_STUB_CALLS")" -eq 3

# From stdin, as a pipe from changed-functions.sh would give it.
rm -f "$AWS_STUB_CALLS"
RC=0
echo "CashoutFunction cashout" | bash "$DEPLOY" functions >"$WORK/stdout" 2>"$WORK/stderr" || RC=$?
check "plan on stdin: exit 0 and one update" test "$RC-$(grep -c 'update-function-code' "$AWS_STUB_CALLS")" == "0-1"

# A resource the stack lacks: nothing is built or updated.
printf 'WalletFunction wallet\nSummaryFunction summary\n' >"$WORK/plan"
deploy functions "$WORK/plan"
check "unknown logical id: exit 1" test "$RC" -eq 1
check "unknown logical id: no build, no update" no_call_like 'update-function-code\|^build'
check "unknown logical id: says to deploy the whole stack" grep -q "deploy the whole stack" "$WORK/stderr"

# A plan that says TEMPLATE is refused, an empty plan does nothing.
echo TEMPLATE >"$WORK/plan"
deploy functions "$WORK/plan"
check "TEMPLATE plan refused: exit 1, no AWS call" test "$RC-$(calls | wc -l)" == "1-0"
: >"$WORK/plan"
deploy functions "$WORK/plan"
check "empty plan: exit 0, no AWS call" test "$RC-$(calls | wc -l)" == "0-0"

# stack-exists
deploy stack-exists
check "stack-exists: the stack is there" test "$RC-$(cat "$WORK/stdout")" == "0-yes"
STACK_NAME=other-stack deploy stack-exists
check "stack-exists: another stack is not" test "$RC-$(cat "$WORK/stdout")" == "0-no"
STACK_NAME=denied-stack AWS_STUB_DENY=1 deploy stack-exists
check "stack-exists: other errors fail" test "$RC-$(cat "$WORK/stdout")" == "1-"

# Settings missing.
STACK_NAME="" deploy functions "$WORK/plan"
check "no STACK_NAME: fails, names the setting" test "$RC" -ne 0 -a -n "$(grep STACK_NAME "$WORK/stderr")"

echo
echo "$passed passed, $failed failed"
((failed == 0))
