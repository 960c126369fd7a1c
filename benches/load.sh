#!/usr/bin/env bash
# Load benchmark: pgbench against iriswire (embedded SQLite default) and
# against a throwaway PostgreSQL 15 cluster on the same machine, in one run.
#
#   benches/load.sh [seconds-per-run]      (default 10)
#
# Prints TPS and mean latency per (target, query, protocol, clients) and the
# iriswire/PostgreSQL TPS ratio. Loopback only; everything it starts it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-10}
PGBIN=/usr/lib/postgresql/15/bin
work=$(mktemp -d)
chmod 755 "$work"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cleanup() {
  [ -n "${IW_PID:-}" ] && kill "$IW_PID" 2>/dev/null || true
  [ -d "$work/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
PG_PORT=$(free_port); IW_PORT=$(free_port)
mkdir -p "$work/pg" "$work/sock" && chown postgres "$work/pg" "$work/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -o "-p $PG_PORT -k $work/sock -c listen_addresses=127.0.0.1" -l "$work/sock/pg.log" start >/dev/null
./target/release/iriswire serve --listen 127.0.0.1:$IW_PORT --http-listen 127.0.0.1:$(free_port) \
  --data-dir "$work/iw" >"$work/iw.log" 2>&1 &
IW_PID=$!
for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$IW_PORT" && break; sleep 0.1; done

# The 1,000-row query: a table both targets have.
setup="CREATE TABLE bench_rows (id integer primary key, label text, amount double precision);"
fill="WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) INSERT INTO bench_rows SELECT n, 'label ' || n, n * 1.5 FROM s;"
for port in $PG_PORT $IW_PORT; do
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$setup" -c "$fill" >/dev/null
done
echo "SELECT 1;" > "$work/select1.sql"
echo "SELECT id, label, amount FROM bench_rows;" > "$work/rows1000.sql"

printf "%-10s %-9s %-9s %3s %10s %12s\n" target query protocol c tps latency_ms
for q in select1 rows1000; do
  for mode in simple extended prepared; do
    for c in 1 8; do
      declare -A tps=()
      for target in postgres iriswire; do
        port=$([ $target = postgres ] && echo "$PG_PORT" || echo "$IW_PORT")
        out=$("$PGBIN/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -M $mode -c $c -j $c -T "$T" -f "$work/$q.sql" postgres 2>&1)
        t=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
        l=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
        tps[$target]=$t
        printf "%-10s %-9s %-9s %3s %10s %12s\n" $target $q $mode $c "$t" "$l"
      done
      python3 -c "print('%-10s %-9s %-9s %3s ratio iriswire/postgres = %.2f' % ('', '$q', '$mode', $c, float('${tps[iriswire]}') / float('${tps[postgres]}')))"
    done
  done
done
