#!/usr/bin/env bash
# The container's main process, under tini: starts IRIS (unless IRIS runs in
# another container), then iriswire; on SIGTERM lets iriswire drain, then
# stops IRIS. docs/deployment.md has the stop budget this keeps.
#
#   start  iris start IRIS  ->  iris qlist until "running"  ->  iriswire serve
#   stop   SIGTERM -> iriswire (readiness 503, sessions drain for
#          server.shutdown_timeout_ms) -> iriswire exits -> iris stop IRIS quietly
#
# Every path is an environment variable with the image's value as default, so
# tests/python/test_entrypoint.py runs this very file with stand-ins.
#
#   IRISWIRE_BIN             iriswire binary (/usr/local/bin/iriswire)
#   IRISWIRE_CONFIG          config file (/opt/iriswire/iriswire.toml)
#   IRISWIRE_USERS_FILE      optional: a file of [[users]] entries (a secret),
#                            appended to a private copy of the config
#   IRISWIRE_RUNTIME_DIR     where that copy is written (${TMPDIR:-/tmp})
#   IRISWIRE_EXIT_TIMEOUT_S  after SIGTERM, how long iriswire may take to exit
#                            before it is killed (40: drain 30 + 10 for workers)
#   IRIS_CMD                 the iris command (iris); empty: IRIS runs elsewhere
#   IRIS_INSTANCE            instance name (IRIS)
#   IRIS_START_TIMEOUT_S     how long IRIS may take to report "running" (300)
#   IRIS_STOP_BUDGET_S       what `iris stop` is budgeted (40); exceeding it is
#                            logged, as the orchestrator's kill is then close
#
# Secrets: IRISUSERNAME, IRISPASSWORD, IRISWIRE_IRIS_USERNAME and
# IRISWIRE_IRIS_PASSWORD may each be given as VAR_FILE (a mounted secret);
# the file's content is exported as VAR for iriswire and its workers.
set -euo pipefail

IRISWIRE_BIN="${IRISWIRE_BIN:-/usr/local/bin/iriswire}"
IRISWIRE_CONFIG="${IRISWIRE_CONFIG:-/opt/iriswire/iriswire.toml}"
IRISWIRE_USERS_FILE="${IRISWIRE_USERS_FILE:-}"
IRISWIRE_RUNTIME_DIR="${IRISWIRE_RUNTIME_DIR:-${TMPDIR:-/tmp}}"
IRISWIRE_EXIT_TIMEOUT_S="${IRISWIRE_EXIT_TIMEOUT_S:-40}"
IRIS_CMD="${IRIS_CMD-iris}"
IRIS_INSTANCE="${IRIS_INSTANCE:-IRIS}"
IRIS_START_TIMEOUT_S="${IRIS_START_TIMEOUT_S:-300}"
IRIS_STOP_BUDGET_S="${IRIS_STOP_BUDGET_S:-40}"

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# VAR_FILE -> VAR. Both set is refused: which one wins would be a guess.
load_secret() {
    local var="$1" file_var="${1}_FILE"
    local file="${!file_var:-}"
    [[ -n "$file" ]] || return 0
    [[ -z "${!var:-}" ]] || die "both $var and $file_var are set; set one"
    [[ -r "$file" ]] || die "$file_var: cannot read $file"
    # $(<file) drops trailing newlines, which secret files usually end with.
    export "$var=$(<"$file")"
    unset "$file_var"
}

# The config iriswire runs with: the mounted file as it is, or a private copy
# with the users appended (the [[users]] tables extend the file's array).
# Rebuilt on SIGHUP so a reload sees updated ConfigMaps and Secrets.
compose_config() {
    if [[ -z "$IRISWIRE_USERS_FILE" ]]; then
        config="$IRISWIRE_CONFIG"
        return 0
    fi
    local target="$IRISWIRE_RUNTIME_DIR/iriswire-runtime.toml"
    local tmp="$target.$$"
    if ! (
        umask 077
        { cat "$IRISWIRE_CONFIG" && printf '\n# from %s\n' "$IRISWIRE_USERS_FILE" && cat "$IRISWIRE_USERS_FILE"; } >"$tmp"
    ); then
        rm -f "$tmp"
        log "cannot write $target from $IRISWIRE_CONFIG and IRISWIRE_USERS_FILE ($IRISWIRE_USERS_FILE)"
        return 1
    fi
    mv -f "$tmp" "$target"
    config="$target"
}

# `iris qlist` prints one caret-separated line; field 4 is the state
# ("running, since ..."), field 9 the status (ok, warn, alert).
iris_state() {
    "$IRIS_CMD" qlist "$IRIS_INSTANCE" 2>/dev/null | head -n 1 | cut -d '^' -f 4 | cut -d ',' -f 1
}

start_iris() {
    log "starting IRIS instance $IRIS_INSTANCE"
    "$IRIS_CMD" start "$IRIS_INSTANCE" quietly || die "iris start $IRIS_INSTANCE failed"
    local deadline=$((SECONDS + IRIS_START_TIMEOUT_S))
    until [[ "$(iris_state)" == running ]]; do
        if ((SECONDS >= deadline)); then
            log "IRIS did not report running within ${IRIS_START_TIMEOUT_S}s"
            stop_iris
            exit 1
        fi
        ((stop_requested == 0)) || return 0
        sleep 1
    done
    log "IRIS is running"
}

stop_iris() {
    [[ -n "$IRIS_CMD" ]] || return 0
    log "stopping IRIS instance $IRIS_INSTANCE"
    local started=$SECONDS rc=0
    "$IRIS_CMD" stop "$IRIS_INSTANCE" quietly || rc=$?
    local took=$((SECONDS - started))
    ((rc == 0)) || log "iris stop $IRIS_INSTANCE exited with status $rc"
    ((took <= IRIS_STOP_BUDGET_S)) || log "iris stop took ${took}s, over its budget of ${IRIS_STOP_BUDGET_S}s"
    log "IRIS stopped in ${took}s"
}

# SIGTERM/SIGINT: forwarded to iriswire, which drains; a watchdog kills it if
# it is still there after IRISWIRE_EXIT_TIMEOUT_S. A second signal is
# forwarded too (iriswire then exits at once with status 1).
stop_requested=0
child=""
watchdog=""
# shellcheck disable=SC2317  # called by a trap, or in the background
on_stop() {
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null || true
        if [[ -z "$watchdog" ]]; then
            log "stop requested: iriswire drains (exit budget ${IRISWIRE_EXIT_TIMEOUT_S}s)"
            stop_started=$SECONDS
            watch_exit "$child" &
            watchdog=$!
        fi
    fi
    stop_requested=1
}
# shellcheck disable=SC2317  # called by a trap, or in the background
on_reload() {
    [[ -n "$child" ]] || return 0
    if compose_config; then
        kill -HUP "$child" 2>/dev/null || true
    else
        log "reload skipped: iriswire keeps the configuration it has"
    fi
}
# The watchdog: kills iriswire once its exit budget is spent. Stopped with
# SIGTERM when iriswire exits in time, taking its sleep along.
# shellcheck disable=SC2317  # called by a trap, or in the background
watch_exit() {
    local pid="$1" sleeper
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$IRISWIRE_EXIT_TIMEOUT_S" &
    sleeper=$!
    wait "$sleeper"
    log "iriswire still running ${IRISWIRE_EXIT_TIMEOUT_S}s after the stop request; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}
trap on_stop TERM INT
trap on_reload HUP

# Waits until iriswire has exited and returns its status. A trapped signal
# interrupts `wait` with a status above 128 while iriswire still runs.
wait_iriswire() {
    local rc again
    while :; do
        rc=0
        wait "$child" || rc=$?
        if ((rc > 128)); then
            if kill -0 "$child" 2>/dev/null; then
                continue
            fi
            # It exited while the trap ran: its own status is still there.
            again=0
            wait "$child" 2>/dev/null || again=$?
            ((again == 127)) || rc=$again
        fi
        return "$rc"
    done
}

for var in IRISUSERNAME IRISPASSWORD IRISWIRE_IRIS_USERNAME IRISWIRE_IRIS_PASSWORD; do
    load_secret "$var"
done
compose_config || exit 1

if [[ -n "$IRIS_CMD" ]]; then
    start_iris
fi

status=0
if ((stop_requested == 0)); then
    "$IRISWIRE_BIN" serve --config "$config" "$@" &
    child=$!
    log "iriswire started (pid $child)"
    wait_iriswire || status=$?
    if [[ -n "$watchdog" ]]; then
        kill "$watchdog" 2>/dev/null || true
        wait "$watchdog" 2>/dev/null || true
        log "iriswire exited with status $status, $((SECONDS - stop_started))s after the stop request"
    else
        log "iriswire exited with status $status"
    fi
fi

stop_iris
exit "$status"
