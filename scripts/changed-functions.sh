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
# package and binary share the name). The reader is walletctl's
# (`walletctl template functions`, walletctl/src/local/template.rs), a real
# YAML parser that resolves nothing, so CloudFormation tags such as !Ref and
# !GetAtt are fine; its unit tests check that it agrees with the reader of
# `walletctl serve` on the repository's template. It needs cargo: walletctl
# is built here (once per run) unless WALLETCTL names a walletctl binary.
set -euo pipefail

# The project this script belongs to (its walletctl), and the repository to look at.
PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$PROJECT"
TEMPLATE_PATH="template.yaml"
ZERO_SHA="0000000000000000000000000000000000000000"

log() { echo "changed-functions: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# walletctl, which reads the template (`walletctl template functions --lines`:
# "LOGICAL_ID BINARY" for each function, in template order). $WALLETCTL when
# set, else the project's own, built (or brought up to date) here once.
walletctl() {
    if [[ -z "${WALLETCTL:-}" ]]; then
        (cd "$PROJECT" && cargo build -p walletctl --quiet) >&2 \
            || die "cannot build walletctl (cargo build -p walletctl)"
        local target="${CARGO_TARGET_DIR:-target}"
        [[ "$target" == /* ]] || target="$PROJECT/$target"
        WALLETCTL="$target/debug/walletctl"
    fi
    "$WALLETCTL" "$@"
}

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
    FUNCTIONS="$(walletctl template functions --template - --lines <<<"$text")" \
        || die "cannot read the functions of $TEMPLATE_PATH of $where"
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
