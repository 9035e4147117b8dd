#!/usr/bin/env bash
# Lint of what is not Rust: the SAM template (`sam validate --lint` and
# `cfn-lint`) and the GitHub workflows (`actionlint`), with the pinned tools of
# .tools/venv (installed by scripts/tools.sh when missing). Part of `make test`;
# alone: `make lint-infra`.
#
# Usage: scripts/lint-infra.sh [template|workflows]   (default: both)
#
# Offline: none of these needs the network. SAM CLI's telemetry is off
# (SAM_CLI_TELEMETRY=0), and its weekly "is there a newer SAM CLI" request is
# never due, because SAM CLI runs with a home folder of its own
# (.tools/sam-home) whose config says it just checked. Where the machine lets
# us (root, or unprivileged user namespaces), every tool also runs in a network
# namespace with no network at all, so that a tool that tried to reach out
# would fail here rather than quietly talk to the world.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/tools.sh install
BIN="$ROOT/.tools/venv/bin"

# SAM CLI keeps its config in ~/.aws-sam/metadata.json; lastVersionCheck far in
# the future (a float: SAM CLI ignores an integer there) means "checked".
SAM_HOME="$ROOT/.tools/sam-home"
mkdir -p "$SAM_HOME/.aws-sam"
if [[ ! -f "$SAM_HOME/.aws-sam/metadata.json" ]]; then
    echo '{"lastVersionCheck": 4102444800.0, "telemetryEnabled": false}' \
        >"$SAM_HOME/.aws-sam/metadata.json"
fi

OFFLINE=()
if unshare -n true 2>/dev/null; then
    OFFLINE=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    OFFLINE=(unshare -rn)
fi
if ((${#OFFLINE[@]})); then
    echo "lint-infra: running the linters with no network (${OFFLINE[*]})"
else
    echo "lint-infra: no network namespace here; running the linters as they are (they need no network)"
fi

# run CMD...: with the venv first on PATH, no AWS account, no network.
run() {
    echo "+ $*"
    env PATH="$BIN:$PATH" HOME="$SAM_HOME" \
        AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
        AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint AWS_EC2_METADATA_DISABLED=true \
        "${OFFLINE[@]}" "$@"
}

lint_template() {
    run sam validate --lint --template-file template.yaml
    run cfn-lint template.yaml
}

lint_workflows() {
    shopt -s nullglob
    local files=(.github/workflows/*.yml .github/workflows/*.yaml)
    shopt -u nullglob
    if ((${#files[@]} == 0)); then
        echo "lint-infra: no workflow files"
        return 0
    fi
    run actionlint -no-color "${files[@]}"
    echo "actionlint: ${#files[@]} workflow file(s) clean"
}

case "${1:-all}" in
    template) lint_template ;;
    workflows) lint_workflows ;;
    all)
        lint_template
        lint_workflows
        ;;
    *)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
