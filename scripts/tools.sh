#!/usr/bin/env bash
# Python tools of the project (SAM CLI, cfn-lint, actionlint, and for builds
# cargo-lambda) in a venv of their own, .tools/venv (ignored by git), at the
# exact versions pinned in tools/requirements*.txt.
#
# Usage:
#   scripts/tools.sh install        lint tools (tools/requirements.txt)
#   scripts/tools.sh install-build  build tools (tools/requirements-build.txt: cargo-lambda)
#   scripts/tools.sh install-fuzz   API contract tools (tools/requirements-fuzz.txt:
#                                   schemathesis, openapi-spec-validator; scripts/fuzz.sh)
#   scripts/tools.sh check [FILE..] exit 0 if the pins of FILE (default: the lint
#                                   file) are installed at exactly those versions
#   scripts/tools.sh bin            print the venv's bin folder (for PATH)
#   scripts/tools.sh exec CMD ARG.. run CMD with the venv's bin first on PATH
#
# `install` is quick when nothing changed: it reads the installed versions of
# every pinned package and only runs pip when one is missing or differs.
# To upgrade a tool, change its pin and run `make tools`.
#
# Environment:
#   TOOLS_PYTHON   the Python that creates the venv (default: python3)
#   TOOLS_VENV     the venv's folder (default: .tools/venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TOOLS_VENV:-$ROOT/.tools/venv}"
PY="${TOOLS_PYTHON:-python3}"
LINT_REQ="$ROOT/tools/requirements.txt"
BUILD_REQ="$ROOT/tools/requirements-build.txt"
FUZZ_REQ="$ROOT/tools/requirements-fuzz.txt"

log() { echo "tools: $*" >&2; }
die() { log "error: $*"; exit 1; }

venv_ok() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" --version >/dev/null 2>&1
}

# Exit 0 when every `name==version` line of the files is installed in the venv
# at exactly that version; prints what is missing or different to stderr.
pins_installed() {
    venv_ok || return 1
    local installed
    installed="$("$VENV/bin/python" -m pip list --format=freeze --disable-pip-version-check \
        --no-input 2>/dev/null)" || return 1
    # Names compare as pip does: case-insensitively, runs of - _ . as one -.
    awk -v installed="$installed" '
        function norm(name) { name = tolower(name); gsub(/[-_.]+/, "-", name); return name }
        BEGIN {
            n = split(installed, lines, "\n")
            for (i = 1; i <= n; i++) {
                if (split(lines[i], kv, "==") == 2) have[norm(kv[1])] = kv[2]
            }
        }
        {
            line = $0
            sub(/#.*/, "", line)
            gsub(/^[ \t]+|[ \t]+$/, "", line)
            if (line == "") next
            if (line !~ /^[A-Za-z0-9][A-Za-z0-9._-]*[ \t]*==[ \t]*[^ \t;]+$/) {
                print "tools: " FILENAME ": not an exact pin: " line > "/dev/stderr"
                fatal = 1
                next
            }
            split(line, kv, "==")
            name = kv[1]; want = kv[2]
            gsub(/[ \t]/, "", name); gsub(/[ \t]/, "", want)
            got = (norm(name) in have) ? have[norm(name)] : ""
            if (got != want) {
                print "tools:   " name ": want " want ", have " (got == "" ? "nothing" : got) > "/dev/stderr"
                bad = 1
            }
        }
        END { exit (fatal || bad) ? 1 : 0 }' "$@"
}

install_files() {
    if pins_installed "$@" 2>/dev/null; then
        log "already installed in ${VENV#"$ROOT/"}: $(pin_summary "$@")"
        return 0
    fi
    if ! venv_ok; then
        command -v "$PY" >/dev/null 2>&1 || die "$PY not found (Python 3.9 or later is needed)"
        log "creating ${VENV#"$ROOT/"} with $("$PY" --version 2>&1)"
        rm -rf "$VENV"
        mkdir -p "$(dirname "$VENV")"
        "$PY" -m venv "$VENV"
    else
        pins_installed "$@" || true
    fi
    local t0 args=() f
    t0=$SECONDS
    for f in "$@"; do args+=(-r "$f"); done
    log "installing $(pin_summary "$@")"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input "${args[@]}" >&2
    pins_installed "$@" || die "pinned versions still not installed after pip install"
    log "installed in $((SECONDS - t0)) s"
}

pin_summary() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@" | tr -d ' ' | paste -sd ' ' -
}

case "${1:-}" in
    install) install_files "$LINT_REQ" ;;
    install-build) install_files "$BUILD_REQ" ;;
    install-fuzz) install_files "$FUZZ_REQ" ;;
    check)
        shift
        if [[ $# -eq 0 ]]; then set -- "$LINT_REQ"; fi
        pins_installed "$@"
        ;;
    bin) echo "$VENV/bin" ;;
    exec)
        shift
        [[ $# -ge 1 ]] || die "exec needs a command"
        PATH="$VENV/bin:$PATH" exec "$@"
        ;;
    *)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
