#!/usr/bin/env bash
# What a push to main has to deploy, from the files that changed between two
# commits. Used by .github/workflows/deploy.yml; tested by
# scripts/tests/changed-functions-test.sh (part of `make test`).
#
# Usage:
#   scripts/changed-functions.sh [-C REPO] BASE [HEAD]   what changed from BASE to HEAD (default HEAD)
#   scripts/changed-functions.sh [-C REPO] --list [REV]  every function of REV's template.yaml
#                                                        (without REV: of the work tree's)
# REPO is the git repository to look at (default: the one holding this script).
#
# Output on stdout, exactly one of:
#   TEMPLATE                 one line: deploy the whole stack (`sam build && sam deploy`)
#   LOGICAL_ID BINARY ...    one line per function whose code changed, in template
#                            order, e.g. "WalletFunction wallet": build that binary
#                            and update that function's code only
#   (nothing)                nothing deployable changed
# Why each decision was made goes to stderr. Exit 1 on an error (bad revision,
# a template with no functions, a function whose code folder is gone), 2 on
# wrong usage.
#
# The rules, path by path (git diff --no-renames, so a move counts as both a
# deletion and an addition):
#   template.yaml, samconfig.toml      -> TEMPLATE (overrides everything else)
#   functions/NAME/...                 -> the function whose Binary is NAME; a
#                                         folder no function of the template
#                                         builds (a new crate, a deleted one) -> nothing
#   shared/..., Cargo.lock, Cargo.toml (the root one), .cargo/...,
#   rust-toolchain, rust-toolchain.toml -> every function
#   anything else (docs, tests, events, walletctl, scripts, README, CI files)
#                                      -> nothing
#   BASE empty, all zeros (GitHub's "before" of a new branch) or not a commit
#   of this clone                      -> TEMPLATE: with nothing to compare
#                                         with, the whole stack is deployed
#
# The function list is read from HEAD's template.yaml, not from the work tree
# and not from a list kept here: every resource of Type
# AWS::Serverless::Function with Metadata.BuildProperties.Binary, whose code is
# the crate in functions/<Binary>/ (the layout of this repository: folder,
# package and binary share the name). The reader is a small indentation-based
# parser of block YAML in Python's standard library, so CloudFormation tags
# such as !Ref and !GetAtt need no YAML library; the test checks that it agrees
# with a real YAML parser on the repository's template.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE_PATH="template.yaml"
ZERO_SHA="0000000000000000000000000000000000000000"

log() { echo "changed-functions: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# The template reader: prints "LOGICAL_ID BINARY" for each function of the
# template text on stdin, in template order.
read -r -d '' TEMPLATE_READER <<'PY' || true
import re, sys

def scalar(text):
    """The value of a plain or quoted scalar, without a trailing comment."""
    text = text.strip()
    if text[:1] in ('"', "'"):
        end = text.find(text[0], 1)
        return text[1:end] if end > 0 else text[1:]
    return re.sub(r"\s+#.*$", "", text).strip()

KEY = re.compile(r"""^("[^"]*"|'[^']*'|[^\s"'#\[{][^#]*?)\s*:(?:\s+(.*)|$)""")
BLOCK_SCALAR = re.compile(r"^[|>][0-9+-]*\s*(#.*)?$")

resources = {}       # logical id -> {"Type": ..., "Binary": ...}, in template order
stack = []           # [(indent, key)]: the keys enclosing the current line ("-" for a list item)
block_indent = None  # inside a block scalar (| or >) whose key is at this indent
for raw in sys.stdin.read().splitlines():
    if not raw.strip() or raw.lstrip().startswith("#"):
        continue
    indent = len(raw) - len(raw.lstrip(" "))
    if block_indent is not None:
        if indent > block_indent:
            continue
        block_indent = None
    line = raw.strip()
    if line in ("---", "..."):
        stack = []
        continue
    # A list item opens a level of its own, so that keys inside lists never
    # count as keys of the mapping around the list.
    while line == "-" or line.startswith("- "):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, "-"))
        rest = line[1:].lstrip(" ")
        indent += len(line) - len(rest)
        line = rest
    m = KEY.match(line)
    if not m:
        continue
    key, value = scalar(m.group(1)), (m.group(2) or "")
    while stack and stack[-1][0] >= indent:
        stack.pop()
    path = [k for _, k in stack] + [key]
    stack.append((indent, key))
    if BLOCK_SCALAR.match(value.strip()):
        block_indent = indent
        continue
    if len(path) >= 3 and path[0] == "Resources" and "-" not in path:
        entry = resources.setdefault(path[1], {})
        if path[2:] == ["Type"]:
            entry["Type"] = scalar(value)
        elif path[2:] == ["Metadata", "BuildProperties", "Binary"]:
            entry["Binary"] = scalar(value)

for logical_id, entry in resources.items():
    if entry.get("Type") != "AWS::Serverless::Function":
        continue
    binary = entry.get("Binary", "")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", binary):
        sys.exit(f"changed-functions: error: {logical_id} is a function, but its "
                 f"Metadata.BuildProperties.Binary is {binary or 'missing'!r}: cannot tell what to build")
    print(logical_id, binary)
PY

# Sets FUNCTIONS (lines "LOGICAL_ID BINARY") from REV's template.yaml, or
# from the work tree's when REV is empty.
load_functions() {
    local rev="$1" text where binary
    if [[ -n "$rev" ]]; then
        where="$rev"
        text="$(git -C "$ROOT" show "$rev:$TEMPLATE_PATH" 2>/dev/null)" \
            || die "no $TEMPLATE_PATH in $rev"
    else
        where="the work tree"
        [[ -f "$ROOT/$TEMPLATE_PATH" ]] || die "no $ROOT/$TEMPLATE_PATH"
        text="$(cat "$ROOT/$TEMPLATE_PATH")"
    fi
    FUNCTIONS="$(python3 -c "$TEMPLATE_READER" <<<"$text")" || exit 1
    [[ -n "$FUNCTIONS" ]] || die "no AWS::Serverless::Function with a Binary in $TEMPLATE_PATH of $where"
    while read -r _ binary; do
        if [[ -n "$rev" ]]; then
            [[ "$(git -C "$ROOT" cat-file -t "$rev:functions/$binary" 2>/dev/null)" == tree ]]
        else
            [[ -d "$ROOT/functions/$binary" ]]
        fi || die "$TEMPLATE_PATH builds binary '$binary', but $where has no functions/$binary/"
    done <<<"$FUNCTIONS"
}

resolve_commit() {
    git -C "$ROOT" rev-parse --verify --quiet "$1^{commit}" 2>/dev/null
}

main() {
    if [[ "${1:-}" == "-C" ]]; then
        [[ $# -ge 2 ]] || usage
        ROOT="$(cd "$2" && pwd)" || die "no folder $2"
        shift 2
    fi
    [[ $# -ge 1 ]] || usage
    git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || die "$ROOT is not a git repository"

    if [[ "$1" == "--list" ]]; then
        [[ $# -le 2 ]] || usage
        local rev=""
        if [[ $# -eq 2 ]]; then
            rev="$(resolve_commit "$2")" || die "not a commit: $2"
        fi
        load_functions "$rev"
        echo "$FUNCTIONS"
        return 0
    fi
    [[ "$1" != -* && $# -le 2 ]] || usage

    local base_arg="$1" head_arg="${2:-HEAD}" head base
    head="$(resolve_commit "$head_arg")" || die "not a commit: $head_arg"
    load_functions "$head"

    if [[ -z "$base_arg" || "$base_arg" == "$ZERO_SHA" ]]; then
        log "no base commit: deploy the whole stack"
        echo TEMPLATE
        return 0
    fi
    if ! base="$(resolve_commit "$base_arg")"; then
        log "base $base_arg is not a commit of this clone (force push, or a shallow clone?): deploy the whole stack"
        echo TEMPLATE
        return 0
    fi

    local changed
    changed="$(git -C "$ROOT" diff --no-renames --name-only "$base" "$head" --)"
    if [[ -z "$changed" ]]; then
        log "no file changed from ${base:0:12} to ${head:0:12}: nothing to deploy"
        return 0
    fi

    local all=0 path name
    local -A wanted=()
    while IFS= read -r path; do
        case "$path" in
            template.yaml | samconfig.toml)
                log "$path changed: deploy the whole stack"
                echo TEMPLATE
                return 0
                ;;
        esac
    done <<<"$changed"
    while IFS= read -r path; do
        case "$path" in
            shared/* | Cargo.lock | Cargo.toml | .cargo/* | rust-toolchain | rust-toolchain.toml)
                if ((all == 0)); then log "$path changed: every function"; fi
                all=1
                ;;
            functions/*/*)
                name="${path#functions/}"
                name="${name%%/*}"
                wanted["$name"]=1
                ;;
        esac
    done <<<"$changed"

    local logical binary known
    local -A in_template=()
    while read -r logical binary; do
        in_template["$binary"]=1
        if ((all)) || [[ -n "${wanted[$binary]:-}" ]]; then
            ((all)) || log "functions/$binary/ changed: $logical"
            echo "$logical $binary"
        fi
    done <<<"$FUNCTIONS"
    for name in "${!wanted[@]}"; do
        known="${in_template[$name]:-}"
        [[ -n "$known" ]] || log "functions/$name/ changed, but no function of $TEMPLATE_PATH builds '$name': ignored"
    done
    if ((all == 0)) && ((${#wanted[@]} == 0)); then
        log "only files that no function is built from changed: nothing to deploy"
    fi
}

main "$@"
