# Shared by the benchmark scripts (sourced): a work directory removed on
# exit with every process registered in `pids`, free loopback ports, and a
# wait for a PostgreSQL-protocol listener.
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 100); do /usr/lib/postgresql/15/bin/pg_isready -q -h 127.0.0.1 -p "$1" && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
