#!/usr/bin/env bash
# Runs every scripts/tests/*-test.sh (the tests of the shell scripts and of the
# documents' links; changed-functions-test.sh builds walletctl, which reads the
# template), then prints the total: "N passed, M failed".
set -uo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
passed=0
failed=0
broken=0
for t in "$DIR"/*-test.sh; do
    echo "--- ${t#"$DIR/"}"
    out="$(bash "$t" 2>&1)"
    rc=$?
    echo "$out"
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)"
    if [[ -z "$line" ]]; then
        echo "(no result line; exit code $rc)"
        broken=$((broken + 1))
        continue
    fi
    p="${line%% passed*}"
    f="${line#*passed, }"
    f="${f%% failed*}"
    passed=$((passed + p))
    failed=$((failed + f))
    if ((rc != 0 && f == 0)); then
        echo "(exit code $rc with no failed check)"
        broken=$((broken + 1))
    fi
done
echo
echo "scripts: $passed passed, $((failed + broken)) failed"
((failed == 0 && broken == 0))
