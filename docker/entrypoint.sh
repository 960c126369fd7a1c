#!/usr/bin/env bash
# Starts IRIS, then iriswire in the foreground. SIGTERM goes to iriswire
# (which drains its sessions); IRIS is stopped once iriswire has exited.
set -euo pipefail

iris start IRIS quietly
until iris qlist IRIS | grep -q ';running;'; do sleep 1; done

iriswire serve --config /opt/iriswire/iriswire.toml "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
wait "$child" || status=$?
# A second wait: the first returns early when the trap fires.
wait "$child" 2>/dev/null || true
iris stop IRIS quietly
exit "$status"
