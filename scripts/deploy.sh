#!/usr/bin/env bash
# Deploys to AWS what .github/workflows/deploy.yml decided with
# scripts/changed-functions.sh. Needs AWS credentials and the AWS CLI.
#
# Usage:
#   scripts/deploy.sh stack             the whole stack: sam build && sam deploy
#   scripts/deploy.sh functions [PLAN]  only the code of the functions listed in PLAN
#                                       (default: stdin), lines "LOGICAL_ID BINARY" as
#                                       changed-functions.sh prints them
#   scripts/deploy.sh stack-exists      print "yes" or "no"; exit 1 on any other
#                                       error (no credentials, no access)
#
# Environment:
#   STACK_NAME               the CloudFormation stack (required)
#   AWS_REGION               its region (required)
#   SAM_PARAMETER_OVERRIDES  optional, for sam deploy: "Key=Value Key2=Value2"
#   BUILD_LAMBDAS            the build command (default: scripts/build-lambdas.sh;
#                            the tests put a stand-in here)
#
# `functions` looks each logical id up in the stack (describe-stack-resource)
# for the function's physical name, asks Lambda for its architecture, builds
# the binaries with cargo-lambda for that architecture, then calls
# update-function-code with target/lambda/BINARY/bootstrap.zip and waits until
# the function is updated. Every lookup happens before the first update, so a
# plan that names a function the stack lacks changes nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { echo "deploy: $*" >&2; }
die() { log "error: $*"; exit 1; }

need_env() {
    : "${STACK_NAME:?STACK_NAME is not set (the repository variable STACK_NAME)}"
    : "${AWS_REGION:?AWS_REGION is not set (the repository variable AWS_REGION)}"
    export AWS_DEFAULT_REGION="$AWS_REGION" SAM_CLI_TELEMETRY=0
}

cmd_stack_exists() {
    need_env
    local err
    if err="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
        --query 'Stacks[0].StackStatus' --output text 2>&1 >/dev/null)"; then
        echo yes
    elif [[ "$err" == *"does not exist"* ]]; then
        echo no
    else
        die "cannot tell whether stack $STACK_NAME exists: $err"
    fi
}

cmd_stack() {
    need_env
    bash scripts/tools.sh install
    bash scripts/tools.sh install-build
    export PATH="$ROOT/.tools/venv/bin:$PATH"
    local overrides=()
    if [[ -n "${SAM_PARAMETER_OVERRIDES:-}" ]]; then
        read -r -a overrides <<<"$SAM_PARAMETER_OVERRIDES"
        overrides=(--parameter-overrides "${overrides[@]}")
    fi
    log "sam build"
    sam build --template-file template.yaml
    log "sam deploy of stack $STACK_NAME in $AWS_REGION"
    sam deploy \
        --template-file .aws-sam/build/template.yaml \
        --stack-name "$STACK_NAME" \
        --region "$AWS_REGION" \
        --resolve-s3 \
        --capabilities CAPABILITY_IAM \
        --no-confirm-changeset \
        --no-fail-on-empty-changeset \
        "${overrides[@]}"
}

cmd_functions() {
    need_env
    local plan
    plan="$(cat "${1:-/dev/stdin}")"
    if [[ -z "${plan//[[:space:]]/}" ]]; then
        log "no function to deploy"
        return 0
    fi
    [[ "$plan" != *TEMPLATE* ]] || die "the plan says TEMPLATE: run '$0 stack'"

    # Look everything up first.
    local logical binary physical arch
    local -a names=() bins=() arches=()
    while read -r logical binary; do
        [[ -n "$logical" ]] || continue
        [[ -n "$binary" ]] || die "plan line without a binary: $logical"
        physical="$(aws cloudformation describe-stack-resource --stack-name "$STACK_NAME" \
            --logical-resource-id "$logical" \
            --query 'StackResourceDetail.PhysicalResourceId' --output text)" \
            || die "stack $STACK_NAME has no resource $logical (deploy the whole stack instead)"
        [[ -n "$physical" && "$physical" != None ]] || die "no physical id for $logical in $STACK_NAME"
        arch="$(aws lambda get-function-configuration --function-name "$physical" \
            --query 'Architectures[0]' --output text)" || die "cannot read $physical's configuration"
        [[ "$arch" == x86_64 || "$arch" == arm64 ]] || die "$physical: unknown architecture '$arch'"
        log "$logical ($binary) is $physical, $arch"
        names+=("$physical")
        bins+=("$binary")
        arches+=("$arch")
    done <<<"$plan"

    # Build, one cargo-lambda run per architecture.
    local build=(bash "$ROOT/scripts/build-lambdas.sh")
    if [[ -n "${BUILD_LAMBDAS:-}" ]]; then read -r -a build <<<"$BUILD_LAMBDAS"; fi
    local a i out
    local -A out_dir=()
    for a in x86_64 arm64; do
        local these=()
        for i in "${!bins[@]}"; do
            [[ "${arches[$i]}" == "$a" ]] && these+=("${bins[$i]}")
        done
        ((${#these[@]})) || continue
        out="$("${build[@]}" --arch "$a" "${these[@]}" | tail -n 1)"
        out_dir[$a]="$out"
    done

    # Update the code.
    local zip sha
    for i in "${!bins[@]}"; do
        zip="${out_dir[${arches[$i]}]}/${bins[$i]}/bootstrap.zip"
        [[ -s "$zip" ]] || die "missing $zip"
        log "updating ${names[$i]} with $zip"
        sha="$(aws lambda update-function-code --function-name "${names[$i]}" \
            --zip-file "fileb://$zip" --query CodeSha256 --output text)"
        aws lambda wait function-updated --function-name "${names[$i]}"
        log "${names[$i]} updated (CodeSha256 $sha)"
    done
}

case "${1:-}" in
    stack) shift; cmd_stack "$@" ;;
    functions) shift; cmd_functions "$@" ;;
    stack-exists) shift; cmd_stack_exists "$@" ;;
    *)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
