#!/usr/bin/env bash
# What metrics cost: two iriswire servers, metrics on and metrics off
# (metrics.enabled = false), under the same pgbench load, alternating
# rounds (order swapped each round) so machine noise hits both alike.
#
#   benches/metrics_cost.sh [rounds] [seconds-per-run] [clients]   (default 7 5 8)
#
# Prints each round's TPS and the medians; cost = 1 - on/off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}; T=${2:-5}; C=${3:-8}
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
. benches/common.sh

cargo build --release --quiet
declare -A PORT
for mode in on off; do
  PORT[$mode]=$(free_port)
  enabled=$([ $mode = on ] && echo true || echo false)
  IRISWIRE_METRICS_ENABLED=$enabled ./target/release/iriswire serve --listen 127.0.0.1:${PORT[$mode]} \
    --http-listen 127.0.0.1:$(free_port) --data-dir "$work/$mode" >"$work/$mode.log" 2>&1 &
  pids+=($!)
done
echo "SELECT 1;" > "$work/q.sql"
for mode in on off; do
  wait_ready "${PORT[$mode]}"
  "$PGBENCH" -n -h 127.0.0.1 -p "${PORT[$mode]}" -U postgres -M prepared -c $C -j $C -T 2 -f "$work/q.sql" postgres >/dev/null 2>&1
done
run() { "$PGBENCH" -n -h 127.0.0.1 -p "${PORT[$1]}" -U postgres -M prepared -c $C -j $C -T "$T" -f "$work/q.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
on=(); off=()
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then a=$(run on); b=$(run off); else b=$(run off); a=$(run on); fi
  on+=("$a"); off+=("$b")
  printf "round %d: metrics on %s tps, off %s tps\n" "$r" "$a" "$b"
done
python3 - "${on[*]}" "${off[*]}" <<'PY'
import statistics, sys
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
m_on, m_off = statistics.median(on), statistics.median(off)
print("median tps: metrics on %.0f, off %.0f; cost %.1f%%" % (m_on, m_off, (1 - m_on / m_off) * 100))
PY
