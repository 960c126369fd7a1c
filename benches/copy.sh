#!/usr/bin/env bash
# COPY throughput, all targets measured in one run on this machine:
#   postgres  PostgreSQL 15's COPY, a throwaway cluster started here
#   iriswire  iriswire (release build) on the embedded SQLite default
#   floor     the same rows inserted by Python's sqlite3 executemany directly
#             (benches/copy_floor.py), one transaction, the worker's settings
#
#   benches/copy.sh [rows] [runs]      (defaults 100000 and 3)
#
# The rows are (integer, text, double precision) in COPY's text format, sent
# by psql's \copy from a file into a fresh table with a primary key. Each
# run times the COPY alone (psql's \timing; the table is created before the
# clock starts), after one untimed run each; the rounds interleave the targets. Prints the median rows/s
# of each target and iriswire's share of the floor and of PostgreSQL.
# Loopback only; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
RUNS=${2:-3}
PGBIN=/usr/lib/postgresql/15/bin
source benches/common.sh
chmod 755 "$work"
cleanup_copy() {
  [ -d "$work/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  cleanup
}
trap cleanup_copy EXIT

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/iriswire
PG_PORT=$(free_port); IW_PORT=$(free_port)
mkdir -p "$work/pg" "$work/sock" && chown postgres "$work/pg" "$work/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -o "-p $PG_PORT -k $work/sock -c listen_addresses=127.0.0.1" \
  -l "$work/sock/pg.log" start >/dev/null
"$BIN" serve --listen 127.0.0.1:$IW_PORT --http-listen 127.0.0.1:$(free_port) \
  --data-dir "$work/iw" >"$work/iw.log" 2>&1 &
pids+=($!)
wait_ready "$PG_PORT"; wait_ready "$IW_PORT"

data="$work/rows.tsv"
python3 - "$ROWS" "$data" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(1, n + 1):
        f.write("%d\tlabel number %d\t%r\n" % (i, i, i * 1.5))
PY
chmod 644 "$data"

# Seconds one \copy of the file takes on the server at port $1.
copy_seconds() {
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP TABLE IF EXISTS bench_copy" \
    -c "CREATE TABLE bench_copy (id integer primary key, label text, amount double precision)" >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c '\timing on' -c "\\copy bench_copy from '$data'" |
    awk '/^Time:/ { print $2 / 1000 }'
  local n
  n=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "SELECT count(*) FROM bench_copy")
  [ "$n" = "$ROWS" ] || { echo "port $1 holds $n rows, expected $ROWS" >&2; exit 1; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The floor is one long-lived process, as a bridge worker is: a line on its
# stdin is one run, it answers with the seconds taken.
coproc FLOOR { python3 benches/copy_floor.py "$work/floor.db" "$data"; }
pids+=($FLOOR_PID)
floor_seconds() { echo run >&"${FLOOR[1]}"; local t; read -r t <&"${FLOOR[0]}"; echo "$t"; }

# One untimed run each (workers started, caches warm), then rounds, each
# timing every target once: noise from other tenants of the machine falls
# on all three alike.
copy_seconds "$PG_PORT" >/dev/null; copy_seconds "$IW_PORT" >/dev/null; floor_seconds >/dev/null
declare -A TIMES
for _ in $(seq "$RUNS"); do
  TIMES[postgres]+="$(copy_seconds "$PG_PORT") "
  TIMES[iriswire]+="$(copy_seconds "$IW_PORT") "
  TIMES[floor]+="$(floor_seconds) "
done
declare -A SECONDS_OF
for target in postgres iriswire floor; do
  SECONDS_OF[$target]=$(printf '%s\n' ${TIMES[$target]} | median)
  echo "# $target runs (s): ${TIMES[$target]}" >&2
done

rate() { awk -v n="$ROWS" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
pg=$(rate "${SECONDS_OF[postgres]}"); iw=$(rate "${SECONDS_OF[iriswire]}"); fl=$(rate "${SECONDS_OF[floor]}")
printf '%-9s %12s\n' target rows/s postgres "$pg" iriswire "$iw" floor "$fl"
awk -v iw="$iw" -v fl="$fl" -v pg="$pg" \
  'BEGIN { printf "iriswire/floor %.0f%%   iriswire/postgres %.0f%%\n", 100 * iw / fl, 100 * iw / pg }'
