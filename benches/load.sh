#!/usr/bin/env bash
# Load benchmark, all targets measured in one run on this machine:
#   postgres  PostgreSQL 15, a throwaway cluster started here
#   iriswire  iriswire (release build) on the embedded SQLite default
#   floor     the same SQL through Python's sqlite3 directly (benches/sqlite_floor.py)
#
#   benches/load.sh [seconds-per-run]      (default 10)
#
# For SELECT 1 and a 1,000-row SELECT, in pgbench's simple, extended and
# prepared modes, with 1 and 8 clients: transactions/s and server CPU per
# transaction (iriswire plus its bridge workers; the postmaster and its
# backends) from a pgbench run, then p50 and p99 latency from a second run of
# the same load by benches/latency.rs (pgbench's own log records 0 µs for
# fast transactions), and the iriswire/PostgreSQL TPS ratio.
# Loopback only; everything started is stopped.
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

# CPU seconds (user+system) used so far by a process and its children, live
# and exited (clock ticks from /proc, converted).
tree_cpu() {
  python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1])
hz = os.sysconf("SC_CLK_TCK")
def stat(pid):
    return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
total = 0
for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        f = stat(int(name))
    except OSError:
        continue
    pid, ppid = int(name), int(f[1])
    if pid == root:
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # self + reaped children
    elif ppid == root:
        total += int(f[11]) + int(f[12])
print(total / hz)
PY
}

cargo build --release --quiet
cargo bench --quiet --bench latency --no-run 2>/dev/null
latency() { cargo bench --quiet --bench latency -- "$@" 2>/dev/null; }
PG_PORT=$(free_port); IW_PORT=$(free_port)
mkdir -p "$work/pg" "$work/sock" && chown postgres "$work/pg" "$work/sock"
runuser -u postgres -- "$PGBIN/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$work/pg" -o "-p $PG_PORT -k $work/sock -c listen_addresses=127.0.0.1" -l "$work/sock/pg.log" start >/dev/null
PG_PID=$(head -1 "$work/pg/postmaster.pid")
./target/release/iriswire serve --listen 127.0.0.1:$IW_PORT --http-listen 127.0.0.1:$(free_port) \
  --data-dir "$work/iw" >"$work/iw.log" 2>&1 &
IW_PID=$!
for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$IW_PORT" && break; sleep 0.1; done

setup="CREATE TABLE bench_rows (id integer primary key, label text, amount double precision);"
fill="WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) INSERT INTO bench_rows SELECT n, 'label ' || n, n * 1.5 FROM s;"
for port in $PG_PORT $IW_PORT; do
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$setup" -c "$fill" >/dev/null
done
# Warm up: start the bridge workers for 8 clients and fill caches on both.
echo "SELECT 1;" > "$work/warm.sql"
for port in $PG_PORT $IW_PORT; do
  "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 8 -j 8 -T 2 -f "$work/warm.sql" postgres >/dev/null 2>&1
done
declare -A SQL=([select1]="SELECT 1" [rows1000]="SELECT id, label, amount FROM bench_rows")
for q in select1 rows1000; do echo "${SQL[$q]};" > "$work/$q.sql"; done

printf "%-9s %-9s %-9s %2s %10s %8s %8s %12s\n" target query protocol c tps p50_ms p99_ms cpu_us/txn
for q in select1 rows1000; do
  for c in 1 8; do
    read -r ftps fp50 fp99 < <(python3 benches/sqlite_floor.py "$work/iw/postgres.db" "$c" "$T" "${SQL[$q]}")
    printf "%-9s %-9s %-9s %2s %10.0f %8s %8s %12s\n" floor $q - $c "$ftps" "$fp50" "$fp99" -
    for mode in simple extended prepared; do
      declare -A tps=()
      for target in postgres iriswire; do
        if [ $target = postgres ]; then port=$PG_PORT; pid=$PG_PID; else port=$IW_PORT; pid=$IW_PID; fi
        cpu0=$(tree_cpu "$pid")
        out=$("$PGBIN/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -M $mode -c $c -j $c -T "$T" \
              -f "$work/$q.sql" postgres 2>&1)
        cpu1=$(tree_cpu "$pid")
        t=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
        n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
        read -r _ p50 p99 < <(latency "$port" "$c" "$T" "$mode" "${SQL[$q]}")
        cpu=$(python3 -c "print('%.1f' % (($cpu1 - $cpu0) / $n * 1e6))")
        tps[$target]=$t
        printf "%-9s %-9s %-9s %2s %10.0f %8s %8s %12s\n" $target $q $mode $c "$t" "$p50" "$p99" "$cpu"
      done
      python3 -c "print('%-9s %-9s %-9s %2s ratio iriswire/postgres = %.2f' % ('', '$q', '$mode', $c, float('${tps[iriswire]}') / float('${tps[postgres]}')))"
    done
  done
done
