"""The floor for benches/copy.sh: the same rows inserted by Python's sqlite3
`executemany` directly, in one transaction, with the bridge worker's
connection settings (WAL, foreign keys), no network, no protocol, no bridge.

    python3 benches/copy_floor.py DB_FILE DATA_FILE

DATA_FILE is COPY's text format, (integer, text, double precision) per
line; it is read and typed once, before any clock starts. Then, for each
line read on stdin, the table is created afresh and the rows inserted; the
seconds the inserts and the COMMIT took are printed, one line per run. One
long-lived process, like a bridge worker, so neither side pays for a cold
start in the timed runs.
"""
import sqlite3
import sys
import time


def main():
    db, data = sys.argv[1], sys.argv[2]
    rows = []
    with open(data, encoding="utf-8") as f:
        for line in f:
            a, b, c = line.rstrip("\n").split("\t")
            rows.append((int(a), b, float(c)))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    cur = conn.cursor()
    for _ in sys.stdin:
        cur.execute("DROP TABLE IF EXISTS bench_copy")
        cur.execute("CREATE TABLE bench_copy (id integer primary key, label text, amount double precision)")
        start = time.perf_counter()
        cur.execute("BEGIN")
        cur.executemany("INSERT INTO bench_copy (id, label, amount) VALUES (?, ?, ?)", rows)
        cur.execute("COMMIT")
        print("%.6f" % (time.perf_counter() - start), flush=True)


if __name__ == "__main__":
    main()
