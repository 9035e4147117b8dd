#!/usr/bin/env bash
# The repository's documents stand on their own:
# - every relative link of README.md and docs/*.md points at a file or folder
#   of the repository, and a link's #anchor into a Markdown file names one of
#   its headings (GitHub's slugs) or an explicit <a id="..."> / <a name="...">;
# - no tracked file points outside the repository: no `../shared/`, no
#   `SPEC.md`, no "SPEC section N" (the contract is docs/api.md and
#   docs/ledger.md, with openapi.yaml).
# Prints one line per check and ends with "N passed, M failed"; exits 1 if any
# failed.
#
# Usage: scripts/tests/docs-links-test.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SELF="scripts/tests/docs-links-test.sh"

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

# The links of a Markdown file, one "LINE<TAB>TARGET" each: inline links
# [text](target) and images, outside fenced code blocks and inline code.
links_of() {
    awk '
        /^[ \t]*(```|~~~)/ { fence = !fence; next }
        fence { next }
        {
            line = $0
            gsub(/`[^`]*`/, "", line)
            while (match(line, /\]\([^)[:space:]]+([ \t]+"[^"]*")?\)/)) {
                target = substr(line, RSTART + 2, RLENGTH - 3)
                sub(/[ \t]+".*$/, "", target)
                print FNR "\t" target
                line = substr(line, RSTART + RLENGTH)
            }
        }' "$1"
}

# The anchors of a Markdown file, one per line: GitHub's heading slugs
# (lower case; punctuation but - and _ dropped; spaces to -; a repeated slug
# gets -1, -2, ...) and explicit <a id="..."> / <a name="...">.
anchors_of() {
    awk '
        /^[ \t]*(```|~~~)/ { fence = !fence; next }
        fence { next }
        /^#+[ \t]/ {
            h = $0
            sub(/^#+[ \t]+/, "", h)
            sub(/[ \t]+#+[ \t]*$/, "", h)
            h = tolower(h)
            gsub(/[^a-z0-9 _-]/, "", h)
            gsub(/ /, "-", h)
            if (h in seen) { seen[h]++; print h "-" seen[h] } else { seen[h] = 0; print h }
        }
        {
            line = $0
            while (match(line, /<a[ \t]+(id|name)="[^"]+"/)) {
                a = substr(line, RSTART, RLENGTH)
                sub(/^[^"]*"/, "", a)
                sub(/"$/, "", a)
                print a
                line = substr(line, RSTART + RLENGTH)
            }
        }' "$1"
}

mapfile -t DOCS < <(ls README.md docs/*.md)
bad=()
checked=0
for doc in "${DOCS[@]}"; do
    dir="$(dirname "$doc")"
    while IFS=$'\t' read -r line target; do
        case "$target" in
            http://* | https://* | mailto:*) continue ;;
        esac
        checked=$((checked + 1))
        path="${target%%#*}"
        anchor=""
        [[ "$target" == *"#"* ]] && anchor="${target#*#}"
        if [[ -z "$path" ]]; then
            file="$doc"
        else
            file="$dir/$path"
        fi
        if [[ ! -e "$file" ]]; then
            bad+=("$doc:$line: $target (no $file)")
            continue
        fi
        if [[ -n "$anchor" && -f "$file" && "$file" == *.md ]]; then
            if ! anchors_of "$file" | grep -qxF -- "$anchor"; then
                bad+=("$doc:$line: $target (no heading #$anchor in $file)")
            fi
        fi
    done < <(links_of "$doc")
done
if ((${#bad[@]} == 0)); then
    ok "every relative link of README.md and docs/*.md resolves ($checked links, ${#DOCS[@]} files)"
else
    fail "every relative link of README.md and docs/*.md resolves" "${bad[@]}"
fi

# Anchors that code comments and other files give as docs/NAME.md#ANCHOR.
bad=()
checked=0
while IFS= read -r hit; do
    where="${hit%%:docs/*}"
    ref="docs/${hit#*:docs/}"
    file="${ref%%#*}"
    anchor="${ref#*#}"
    checked=$((checked + 1))
    if [[ ! -f "$file" ]]; then
        bad+=("$where: $ref (no $file)")
    elif ! anchors_of "$file" | grep -qxF -- "$anchor"; then
        bad+=("$where: $ref (no heading #$anchor in $file)")
    fi
done < <(git grep -noE 'docs/[a-z0-9_-]+\.md#[a-z0-9_-]+' -- ":!$SELF" || true)
if ((${#bad[@]} == 0)); then
    ok "every docs/NAME.md#anchor named in a tracked file exists ($checked references)"
else
    fail "every docs/NAME.md#anchor named in a tracked file exists" "${bad[@]}"
fi

# One check: `hits` (git grep lines) must be empty.
expect_none() {
    local name="$1" hits="$2"
    if [[ -z "$hits" ]]; then
        ok "$name"
    else
        mapfile -t lines <<<"$hits"
        fail "$name" "${lines[@]}"
    fi
}

expect_none "no tracked file refers to ../shared/ or SPEC.md" \
    "$(git grep -nE '\.\./shared/|SPEC\.md' -- ":!$SELF" || true)"
expect_none "no tracked file refers to \"the SPEC\" or its sections" \
    "$(git grep -nwE 'SPEC' -- ":!$SELF" | grep -vE 'static SPEC|SPEC\.get_or_init' || true)"

echo
echo "$passed passed, $failed failed"
((failed == 0))
