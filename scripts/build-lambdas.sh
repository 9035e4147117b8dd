#!/usr/bin/env bash
# Release builds of the Lambda functions, zipped for Lambda, with cargo-lambda
# (pinned in tools/requirements-build.txt, installed into .tools/venv when
# missing). `make lambda`, CI's artifact job and the deploy workflow use it.
#
# Usage: scripts/build-lambdas.sh [--arch x86_64|arm64] [BINARY...]
#   BINARY  the Metadata.BuildProperties.Binary of functions in template.yaml
#           (default: every function of template.yaml)
#   --arch  the Lambda architecture to build for (default: x86_64, the
#           template's default Architecture)
#
# Output: target/lambda/BINARY/bootstrap.zip for each binary (cargo-lambda's
# layout; CARGO_TARGET_DIR moves it along with target/). The last line on
# stdout is the folder that holds them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

arch=x86_64
bins=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --arch)
            [[ $# -ge 2 ]] || { echo "--arch needs x86_64 or arm64" >&2; exit 2; }
            arch="$2"
            shift 2
            ;;
        --arch=*) arch="${1#--arch=}"; shift ;;
        -*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
        *) bins+=("$1"); shift ;;
    esac
done
case "$arch" in
    x86_64) arch_flag=--x86-64 ;;
    arm64) arch_flag=--arm64 ;;
    *) echo "unknown architecture '$arch' (x86_64 or arm64)" >&2; exit 2 ;;
esac

# Only binaries that template.yaml deploys: walletctl and the test crates are
# not Lambda functions.
known="$(bash scripts/changed-functions.sh --list | cut -d' ' -f2)"
if ((${#bins[@]} == 0)); then
    mapfile -t bins <<<"$known"
fi
for b in "${bins[@]}"; do
    grep -qx -- "$b" <<<"$known" || { echo "no function of template.yaml builds '$b'" >&2; exit 1; }
done

bash scripts/tools.sh install-build
export PATH="$ROOT/.tools/venv/bin:$PATH"

args=()
for b in "${bins[@]}"; do args+=(--bin "$b"); done
echo "==> cargo lambda build --release $arch_flag --output-format zip ${args[*]}" >&2
t0=$SECONDS
cargo lambda build --release "$arch_flag" --output-format zip "${args[@]}"
out="${CARGO_TARGET_DIR:-$ROOT/target}/lambda"
for b in "${bins[@]}"; do
    [[ -s "$out/$b/bootstrap.zip" ]] || { echo "missing $out/$b/bootstrap.zip" >&2; exit 1; }
    printf '    %-16s %s bytes\n' "$b" "$(stat -c %s "$out/$b/bootstrap.zip")" >&2
done
echo "==> built ${#bins[@]} function(s) for $arch in $((SECONDS - t0)) s" >&2
echo "$out"
