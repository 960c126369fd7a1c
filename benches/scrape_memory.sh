#!/usr/bin/env bash
# Does iriswire's memory stay flat while Prometheus scrapes it under load?
# One server, a rate-limited pgbench load (extended protocol, plus an error
# and a new connection every 5 s) and a scrape of /metrics every
# second for the whole run; RSS of the server process is sampled every 10 s.
#
#   benches/scrape_memory.sh [seconds] [tps]   (default 600 200)
#
# Prints the RSS samples and compares the median of the first and last
# minute (after a 30 s warm-up).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-600}; RATE=${2:-200}
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
. benches/common.sh

BIN=${IRISWIRE_BIN:-target/release/iriswire}
[ -n "${IRISWIRE_BIN:-}" ] || cargo build --release --quiet
PORT=$(free_port); HTTP=$(free_port)
"$BIN" serve --listen 127.0.0.1:$PORT --http-listen 127.0.0.1:$HTTP --data-dir "$work/data" >"$work/server.log" 2>&1 &
server=$!; pids+=($server)
wait_ready "$PORT"
cat > "$work/mix.sql" <<'SQL'
\set n random(1, 1000)
SELECT :n AS n, 'row ' || :n AS label;
SQL
"$PGBENCH" -n -h 127.0.0.1 -p $PORT -U app -M extended -c 4 -j 2 -R "$RATE" -T $((T + 30)) \
  -f "$work/mix.sql" app >"$work/pgbench.log" 2>&1 &
pids+=($!)
# Scrapes every second; every fifth second also an error (42P01) and a new
# connection, so the error and connection families move too.
( i=0; while kill -0 $server 2>/dev/null; do
    curl -s -o /dev/null "http://127.0.0.1:$HTTP/metrics"
    if (( i++ % 5 == 0 )); then
      /usr/lib/postgresql/15/bin/psql -X -q -h 127.0.0.1 -p $PORT -U app -d app -c 'SELECT * FROM no_such_table' >/dev/null 2>&1 || true
    fi
    sleep 1
  done ) &
pids+=($!)
sleep 30
: > "$work/rss"
for i in $(seq 0 10 "$T"); do
  awk '/VmRSS/ {print $2}' /proc/$server/status >> "$work/rss"
  [ "$i" -lt "$T" ] && sleep 10
done
python3 - "$work/rss" "$T" <<'PY'
import statistics, sys
kb = [int(x) for x in open(sys.argv[1]).read().split()]
print("RSS samples (MiB, every 10 s):", " ".join("%.1f" % (k / 1024) for k in kb))
first, last = statistics.median(kb[:7]), statistics.median(kb[-7:])
print("median RSS first minute %.1f MiB, last minute %.1f MiB, change %+.1f%% over %s s"
      % (first / 1024, last / 1024, (last / first - 1) * 100, sys.argv[2]))
PY
grep -E "^(number of transactions actually processed|number of failed)" "$work/pgbench.log" || true
