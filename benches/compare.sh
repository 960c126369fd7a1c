#!/usr/bin/env bash
# Two iriswire builds against each other and against PostgreSQL 15, in one
# run on this machine: pgbench SELECT 1 and a 1,000-row SELECT, simple and
# prepared, 1 and 8 clients, rounds interleaved (A, B, PostgreSQL) so load
# from other tenants hits all three alike. Prints the median TPS of the
# rounds and each build's ratio to PostgreSQL.
#
#   benches/compare.sh OLD_BIN NEW_BIN [seconds-per-run] [rounds]
#
# Used for "no throughput regression" claims: compare the two ratios, not
# absolute TPS. Loopback only; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 T=${3:-5} R=${4:-3}
PGBIN=/usr/lib/postgresql/15/bin
source benches/common.sh
WORK=$work
chmod 755 "$WORK"
stop_pg() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; cleanup; }
trap stop_pg EXIT
PG_PORT=$(free_port); A_PORT=$(free_port); B_PORT=$(free_port)
mkdir -p "$WORK/pg" "$WORK/sock" && chown postgres "$WORK/pg" "$WORK/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT -k $WORK/sock -c listen_addresses=127.0.0.1" \
  -l "$WORK/sock/pg.log" start >/dev/null
for pair in "$A:$A_PORT:a" "$B:$B_PORT:b"; do
  IFS=: read -r bin port name <<<"$pair"
  "$bin" serve --listen 127.0.0.1:$port --http-listen 127.0.0.1:$(free_port) \
    --data-dir "$WORK/$name" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
  wait_ready "$port"
done
setup="CREATE TABLE bench_rows (id integer primary key, label text, amount double precision);"
fill="WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) INSERT INTO bench_rows SELECT n, 'label ' || n, n * 1.5 FROM s;"
for port in $PG_PORT $A_PORT $B_PORT; do
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$setup" -c "$fill" >/dev/null
  echo "SELECT 1;" > "$WORK/warm.sql"
  "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 8 -T 2 -f "$WORK/warm.sql" postgres >/dev/null 2>&1
done
echo "SELECT 1;" > "$WORK/select1.sql"
echo "SELECT id, label, amount FROM bench_rows;" > "$WORK/rows1000.sql"
tps() {
  "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$1" -U postgres -M "$2" -c "$3" -j "$3" -T "$T" -f "$WORK/$4.sql" postgres 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
median() { python3 -c 'import statistics,sys; print("%.0f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
printf "%-9s %-9s %2s %10s %10s %10s %8s %8s\n" query mode c A B postgres A/pg B/pg
for q in select1 rows1000; do
  for mode in simple prepared; do
    for c in 1 8; do
      a=(); b=(); p=()
      for _ in $(seq "$R"); do
        a+=("$(tps "$A_PORT" $mode $c $q)"); b+=("$(tps "$B_PORT" $mode $c $q)"); p+=("$(tps "$PG_PORT" $mode $c $q)")
      done
      ma=$(median "${a[@]}"); mb=$(median "${b[@]}"); mp=$(median "${p[@]}")
      python3 -c "print('%-9s %-9s %2s %10s %10s %10s %8.2f %8.2f' % ('$q', '$mode', $c, $ma, $mb, $mp, $ma / $mp, $mb / $mp))"
    done
  done
done
