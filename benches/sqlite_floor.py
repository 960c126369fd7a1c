"""The floor for benches/load.sh: the same queries through Python's sqlite3
directly, with no network, no protocol and no bridge, in client processes
each with its own connection (as the bridge workers have).

    python3 benches/sqlite_floor.py DB_FILE CLIENTS SECONDS SQL

Prints one line: tps, p50 and p99 latency in milliseconds.
"""
import multiprocessing
import sqlite3
import sys
import time


def run(db, sql, seconds, out):
    conn = sqlite3.connect(db, isolation_level=None, cached_statements=1024)
    cur = conn.cursor()
    latencies = []
    deadline = time.perf_counter() + seconds
    now = time.perf_counter()
    while now < deadline:
        start = now
        cur.execute(sql)
        cur.fetchall()
        now = time.perf_counter()
        latencies.append(now - start)
    out.put(latencies)


def main():
    db, clients, seconds, sql = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=run, args=(db, sql, seconds, out)) for _ in range(clients)]
    for p in procs:
        p.start()
    latencies = sorted(x for _ in procs for x in out.get())
    for p in procs:
        p.join()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print("%.1f %.3f %.3f" % (len(latencies) / seconds, pick(0.50), pick(0.99)))


if __name__ == "__main__":
    main()
