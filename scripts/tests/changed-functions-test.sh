#!/usr/bin/env bash
# Tests of scripts/changed-functions.sh on scratch git repositories made in a
# temporary folder: the project's template.yaml (from the work tree) and small
# stand-in files, committed, changed, committed again, with the script run
# between the commits. Prints one line per check and ends with
# "N passed, M failed"; exits 1 if any failed.
#
# Usage: scripts/tests/changed-functions-test.sh
# Environment: CHANGED_FUNCTIONS_SCRIPT  the script under test (default: scripts/changed-functions.sh)
#              WALLETCTL  the walletctl binary the script reads templates with
#              (default: built here once with `cargo build -p walletctl`)
#
# The template reader itself (walletctl/src/local/template.rs) has unit tests
# of its own, among them that it agrees with the reader of `walletctl serve`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRIPT="${CHANGED_FUNCTIONS_SCRIPT:-$ROOT/scripts/changed-functions.sh}"
TEMPLATE="$ROOT/template.yaml"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/changed-functions-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Git without the user's or the machine's settings (hooks, signing, templates).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.com
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.com

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok    $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL  $1"
    shift
    local line
    for line in "$@"; do echo "      $line"; done
}

# The script's stdout, stderr and exit code for the last `run`.
OUT="" ERR="" RC=0
run() {
    RC=0
    OUT="$(bash "$SCRIPT" "$@" 2>"$WORK/stderr")" || RC=$?
    ERR="$(cat "$WORK/stderr")"
}

# expect NAME WANTED_STDOUT ARGS...: the script exits 0 and prints exactly that.
expect() {
    local name="$1" want="$2"
    shift 2
    run "$@"
    if [[ $RC -eq 0 && "$OUT" == "$want" ]]; then
        ok "$name"
    else
        fail "$name" "args: $*" "exit code: $RC" "wanted: $(printf '%q' "$want")" \
            "got:    $(printf '%q' "$OUT")" "stderr: $ERR"
    fi
}

# expect_error NAME STDERR_PART ARGS...: the script exits 1 and says that.
expect_error() {
    local name="$1" part="$2"
    shift 2
    run "$@"
    if [[ $RC -eq 1 && -z "$OUT" && "$ERR" == *"$part"* ]]; then
        ok "$name"
    else
        fail "$name" "args: $*" "exit code: $RC (wanted 1)" "stdout: $OUT" \
            "stderr: $ERR" "(wanted stderr to contain: $part)"
    fi
}

# --- the function list of the real template --------------------------------

# The script reads templates with walletctl: build it once here, so that the
# runs below do not each ask cargo whether it is up to date.
if [[ -z "${WALLETCTL:-}" ]]; then
    (cd "$ROOT" && cargo build -p walletctl --quiet) || { echo "cannot build walletctl"; exit 1; }
    target="${CARGO_TARGET_DIR:-target}"
    [[ "$target" == /* ]] || target="$ROOT/$target"
    WALLETCTL="$target/debug/walletctl"
fi
export WALLETCTL

[[ -f "$TEMPLATE" ]] || { echo "no $TEMPLATE"; exit 1; }

# A scratch repository; prints its folder.
new_repo() {
    local dir="$WORK/$1"
    mkdir -p "$dir"
    git -C "$dir" init -q -b main
    echo "$dir"
}
commit() { git -C "$1" add -A && git -C "$1" commit -q --allow-empty -m "$2"; git -C "$1" rev-parse HEAD; }
# change FILE...: appends a line to each file, making folders as needed.
change() {
    local f
    for f in "$@"; do
        mkdir -p "$(dirname "$f")"
        case "$f" in
            *.yaml | *.yml) echo "# change $RANDOM" >>"$f" ;; # still YAML: the script reads it
            *) echo "// change $RANDOM" >>"$f" ;;
        esac
    done
}

# The project's layout with stand-in files, for the functions of template.yaml.
R="$(new_repo project)"
cp "$TEMPLATE" "$R/template.yaml"
run -C "$R" --list HEAD 2>/dev/null || true # no commit yet: must fail, not crash
if [[ $RC -ne 0 && -z "$OUT" ]]; then ok "--list in a repository without commits fails"; else fail "--list in a repository without commits fails" "exit $RC" "$OUT"; fi

# The Binary names, read the crude way (for making the stand-in folders only;
# the script's own reading is checked below).
mapfile -t BINARIES < <(sed -n 's/^ *Binary: *["'\'']\{0,1\}\([A-Za-z0-9_-]*\).*/\1/p' "$TEMPLATE")
[[ ${#BINARIES[@]} -gt 0 ]] || { echo "no Binary: lines in $TEMPLATE"; exit 1; }
for b in "${BINARIES[@]}"; do
    change "$R/functions/$b/src/main.rs" "$R/functions/$b/src/handler.rs" "$R/functions/$b/Cargo.toml"
done
change "$R/shared/src/lib.rs" "$R/Cargo.toml" "$R/Cargo.lock" "$R/README.md" "$R/docs/decisions.md" \
    "$R/tests/tests/smoke.rs" "$R/walletctl/src/main.rs" "$R/events/wallet_ok.json" \
    "$R/scripts/test.sh" "$R/Makefile" "$R/.github/workflows/ci.yml"
FIRST="$(commit "$R" "first")"

# --- reading the template --------------------------------------------------

run -C "$R" --list
ALL="$OUT"
if [[ $RC -eq 0 && "$(wc -l <<<"$ALL")" -eq ${#BINARIES[@]} ]]; then
    ok "--list: one line per Binary of template.yaml (${#BINARIES[@]} functions)"
else
    fail "--list: one line per Binary of template.yaml" "exit $RC" "$ALL" "$ERR"
fi
if [[ "$(cut -d' ' -f2 <<<"$ALL")" == "$(printf '%s\n' "${BINARIES[@]}")" ]]; then
    ok "--list: in template order"
else
    fail "--list: in template order" "$ALL"
fi
if grep -q '^WalletFunction wallet$' <<<"$ALL"; then
    ok "--list: WalletFunction builds wallet"
else
    fail "--list: WalletFunction builds wallet" "$ALL"
fi
# Independently of walletctl, the crude way: each listed function's own block
# of template.yaml (from "  LOGICAL_ID:" to the next resource) has its Binary.
crude_ok=1
while read -r logical binary; do
    block="$(awk -v id="  $logical:" '$0 == id {on = 1; next} on && /^  [^ #]/ {on = 0} on' "$TEMPLATE")"
    grep -Eq "^ +Binary: *[\"']?$binary[\"']? *(#.*)?$" <<<"$block" || crude_ok=0
done <<<"$ALL"
if ((crude_ok)); then
    ok "--list: each function's own template block builds its binary"
else
    fail "--list: each function's own template block builds its binary" "$ALL"
fi

# --- no base ---------------------------------------------------------------

expect "first commit, empty base: the whole stack" TEMPLATE -C "$R" "" "$FIRST"
expect "first commit, all-zero base (a new branch on GitHub): the whole stack" \
    TEMPLATE -C "$R" 0000000000000000000000000000000000000000 "$FIRST"
expect "base not in this clone (force push): the whole stack" \
    TEMPLATE -C "$R" 1234567890abcdef1234567890abcdef12345678 "$FIRST"
expect "same commit: nothing" "" -C "$R" "$FIRST" "$FIRST"

# --- one change at a time --------------------------------------------------

# step NAME WANTED PATH...: change the paths, commit, run the script on the
# last commit, expect WANTED.
step() {
    local name="$1" want="$2" base
    shift 2
    base="$(git -C "$R" rev-parse HEAD)"
    local p
    for p in "$@"; do change "$R/$p"; done
    local head
    head="$(commit "$R" "$name")"
    expect "$name" "$want" -C "$R" "$base" "$head"
}

step "functions/wallet changed: wallet only" "WalletFunction wallet" functions/wallet/src/handler.rs
step "functions/wallet/Cargo.toml changed: wallet only" "WalletFunction wallet" functions/wallet/Cargo.toml
step "shared/ changed: every function" "$ALL" shared/src/lib.rs
step "Cargo.lock changed: every function" "$ALL" Cargo.lock
step "root Cargo.toml changed: every function" "$ALL" Cargo.toml
step "template.yaml changed: the whole stack" TEMPLATE template.yaml
step "template.yaml and a function changed: the whole stack" TEMPLATE template.yaml functions/wallet/src/main.rs
step "template.yaml and shared/ changed: the whole stack" TEMPLATE template.yaml shared/src/lib.rs
step "README only: nothing" "" README.md
step "docs, tests, events, walletctl, scripts, Makefile, workflows: nothing" "" \
    docs/decisions.md tests/tests/smoke.rs events/wallet_ok.json walletctl/src/main.rs \
    scripts/test.sh Makefile .github/workflows/ci.yml
step "two functions changed: both, in template order" \
    "$(grep -E ' (wallet|ledger)$' <<<"$ALL")" functions/ledger/src/handler.rs functions/wallet/src/main.rs
step "a function and shared/ changed: every function" "$ALL" functions/wallet/src/main.rs shared/src/lib.rs
step "a function and README changed: that function" "CashoutFunction cashout" \
    functions/cashout/src/handler.rs README.md
step "a new crate that no function builds: nothing" "" functions/experiment/src/main.rs

# Several commits between base and head: the union of their changes.
base="$(git -C "$R" rev-parse HEAD)"
change "$R/functions/wallet/src/handler.rs"
commit "$R" "wallet" >/dev/null
change "$R/docs/decisions.md"
commit "$R" "docs" >/dev/null
change "$R/functions/payouts/src/handler.rs"
head="$(commit "$R" "payouts")"
expect "three commits in one push: the functions of all of them" \
    "$(grep -E ' (wallet|payouts)$' <<<"$ALL")" -C "$R" "$base" "$head"
expect "HEAD defaults to HEAD" "$(grep -E ' (wallet|payouts)$' <<<"$ALL")" -C "$R" "$base"

# A file moved from one function to another counts for both.
base="$(git -C "$R" rev-parse HEAD)"
git -C "$R" mv functions/wallet/src/handler.rs functions/cashout/src/moved.rs
head="$(commit "$R" "move")"
expect "a file moved between two functions: both" \
    "$(grep -E ' (wallet|cashout)$' <<<"$ALL")" -C "$R" "$base" "$head"

# --- deleted function folders ----------------------------------------------

base="$(git -C "$R" rev-parse HEAD)"
git -C "$R" rm -rq functions/experiment
head="$(commit "$R" "drop the experiment")"
expect "a deleted folder that no function builds: nothing" "" -C "$R" "$base" "$head"

# The function and its folder removed together: the stack changes.
base="$(git -C "$R" rev-parse HEAD)"
git -C "$R" rm -rq functions/payouts
awk '/^  PayoutsFunction:$/ {skip = 1; next}
     skip && /^  [A-Za-z0-9]+:$|^[A-Za-z]/ {skip = 0}
     !skip' "$R/template.yaml" >"$WORK/t.yaml"
mv "$WORK/t.yaml" "$R/template.yaml"
head="$(commit "$R" "drop payouts")"
if ! grep -q PayoutsFunction "$R/template.yaml"; then
    expect "a function removed with its folder: the whole stack" TEMPLATE -C "$R" "$base" "$head"
    run -C "$R" --list "$head"
    if [[ $RC -eq 0 && "$OUT" == "$(grep -v ' payouts$' <<<"$ALL")" ]]; then
        ok "--list after removing a function: the others"
    else
        fail "--list after removing a function: the others" "$OUT" "$ERR"
    fi
else
    fail "test setup: removing PayoutsFunction from the template copy"
fi

# The folder removed while the template still builds it: a clear error, not
# a deploy that fails halfway.
base="$(git -C "$R" rev-parse HEAD)"
git -C "$R" rm -rq functions/ledger
head="$(commit "$R" "drop ledger's code only")"
expect_error "a deleted folder the template still builds: error" "functions/ledger/" -C "$R" "$base" "$head"

# --- errors and usage ------------------------------------------------------

expect_error "a head that is not a commit: error" "not a commit" -C "$R" "$FIRST" no-such-branch
run -C "$R"
if [[ $RC -eq 2 ]]; then ok "no arguments: usage, exit 2"; else fail "no arguments: usage, exit 2" "exit $RC"; fi
run -C "$R" a b c
if [[ $RC -eq 2 ]]; then ok "three arguments: usage, exit 2"; else fail "three arguments: usage, exit 2" "exit $RC"; fi

# --- the template reader on odd but valid YAML ------------------------------

T="$(new_repo odd)"
mkdir -p "$T/functions/alpha" "$T/functions/beta-two" "$T/functions/gamma"
touch "$T/functions/alpha/x" "$T/functions/beta-two/x" "$T/functions/gamma/x"
cat >"$T/template.yaml" <<'YAML'
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >
  Resources:
    Fake:
      Type: AWS::Serverless::Function
Globals:
  Function:
    Runtime: provided.al2023
Resources:
  # a comment
  AlphaFunction:
    Type: "AWS::Serverless::Function"   # quoted, with a comment
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: 'alpha'
    Properties:
      Description: |
        Binary: not-this
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Table.Arn
  Table:
    Type: AWS::DynamoDB::Table
    Metadata:
      BuildProperties:
        Binary: not-a-function
  "BetaFunction":
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Resource: !Sub "${Table.Arn}/index/*"
      Events:
        One:
          Type: Schedule
    Metadata:
      BuildProperties:
        Binary: beta-two # trailing comment
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags:
        - Key: Binary
          Value: nope
  GammaFunction:
    Type: AWS::Serverless::Function
    Metadata: 
      BuildProperties:
        Binary: gamma
Outputs:
  Resources:
    Value: !Ref Table
YAML
commit "$T" "odd" >/dev/null
expect "reader: quotes, comments, tags, block scalars, lists, other resources" \
    "AlphaFunction alpha
BetaFunction beta-two
GammaFunction gamma" -C "$T" --list
sed -i "s/Binary: gamma/Binary: '..\/gamma'/" "$T/template.yaml"
run -C "$T" --list
if [[ $RC -eq 1 && -z "$OUT" && "$ERR" == *GammaFunction* ]]; then
    ok "reader: a Binary that is not a crate name: error"
else
    fail "reader: a Binary that is not a crate name: error" "exit $RC" "$OUT" "$ERR"
fi
git -C "$T" checkout -q -- template.yaml

# --list without a revision reads the work tree, with a revision that commit.
sed -i 's/Binary: gamma/Binary: alpha/' "$T/template.yaml"
run -C "$T" --list
worktree="$OUT"
run -C "$T" --list HEAD
if [[ "$worktree" == *"GammaFunction alpha" && "$OUT" == *"GammaFunction gamma" ]]; then
    ok "--list reads the work tree, --list REV that commit"
else
    fail "--list reads the work tree, --list REV that commit" "work tree: $worktree" "HEAD: $OUT"
fi
git -C "$T" checkout -q -- template.yaml

# Outputs come last, so the new resource goes in just before them.
awk '/^Outputs:$/ {
        print "  DeltaFunction:"
        print "    Type: AWS::Serverless::Function"
        print "    Properties:"
        print "      Handler: index.handler"
     }
     {print}' "$T/template.yaml" >"$WORK/t.yaml"
mv "$WORK/t.yaml" "$T/template.yaml"
commit "$T" "a function without Binary" >/dev/null
expect_error "reader: a function without Metadata.BuildProperties.Binary: error" "DeltaFunction" -C "$T" --list

echo
echo "$passed passed, $failed failed"
((failed == 0))
