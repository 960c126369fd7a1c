"""Catalog query cost: psql's \\dt and \\d t queries and SQLAlchemy's
get_columns query, answered by the worker's catalog over a SQLite database of
200 tables (median ms per query, in process: rewrite cache + SQLite).

    python3 benches/catalog.py [tables] [runs]
"""

import os
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "iris"))

from iriswire_worker.catalog import Catalog  # noqa: E402
from iriswire_worker.schema_sqlite import SqliteSchemaReader  # noqa: E402

DT = """SELECT n.nspname as "Schema", c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast'
  AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2"""
D_LOOKUP = """SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(t100)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3"""
D_COLUMNS = """SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull, (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity, a.attgenerated
FROM pg_catalog.pg_attribute a WHERE a.attrelid = '{oid}' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum"""
D_INDEXES = """SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid,
  pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred,
  i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid
  AND contype IN ('p','u','x'))
WHERE c.oid = '{oid}' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname"""
SA_COLUMNS = """SELECT pg_catalog.pg_attribute.attname AS name,
  pg_catalog.format_type(pg_catalog.pg_attribute.atttypid, pg_catalog.pg_attribute.atttypmod) AS format_type,
  CASE WHEN pg_catalog.pg_attribute.atthasdef THEN (SELECT pg_catalog.pg_get_expr(pg_catalog.pg_attrdef.adbin,
  pg_catalog.pg_attrdef.adrelid) AS pg_get_expr_1 FROM pg_catalog.pg_attrdef
  WHERE pg_catalog.pg_attrdef.adrelid = pg_catalog.pg_attribute.attrelid
  AND pg_catalog.pg_attrdef.adnum = pg_catalog.pg_attribute.attnum) ELSE NULL END AS "default",
  pg_catalog.pg_attribute.attnotnull AS not_null, pg_catalog.pg_class.relname AS table_name,
  pg_catalog.pg_description.description AS comment
FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_class.oid =
  pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attribute.attnum > 0 AND NOT
  pg_catalog.pg_attribute.attisdropped LEFT OUTER JOIN pg_catalog.pg_description ON
  pg_catalog.pg_description.objoid = pg_catalog.pg_attribute.attrelid AND
  pg_catalog.pg_description.objsubid = pg_catalog.pg_attribute.attnum
JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$1, $2, $3]) AND
  pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != $4
  AND pg_catalog.pg_class.relname IN ($5) ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_attribute.attnum"""


def main():
    tables = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "bench.db"), isolation_level=None)
        for n in range(tables):
            conn.execute("CREATE TABLE t%d (id integer PRIMARY KEY, name text NOT NULL UNIQUE,"
                         " price numeric(10,2) DEFAULT 0, seen timestamp, ref integer REFERENCES t0(id))" % n)
            conn.execute("CREATE INDEX t%d_seen ON t%d (seen)" % (n, n))
        catalog = Catalog(SqliteSchemaReader(conn), None)
        start = time.perf_counter()
        catalog.refresh()
        print("rebuild after DDL (%d tables): %.1f ms" % (tables, (time.perf_counter() - start) * 1000))
        oid = catalog._conn.execute("SELECT oid FROM pg_class WHERE relname = 't100'").fetchone()[0]
        queries = {
            r"psql \dt": (DT, ()),
            r"psql \d t (lookup)": (D_LOOKUP, ()),
            r"psql \d t (columns)": (D_COLUMNS.format(oid=oid), ()),
            r"psql \d t (indexes)": (D_INDEXES.format(oid=oid), ()),
            "SQLAlchemy get_columns": (SA_COLUMNS, ("r", "p", "v", "pg_catalog", "t100")),
        }
        for name, (sql, params) in queries.items():
            timings = []
            for _ in range(runs):
                start = time.perf_counter()
                catalog.refresh()  # the schema-version check every statement pays
                catalog.driver.execute(catalog.translate(sql), params, True)[1](10000)
                timings.append((time.perf_counter() - start) * 1000)
            print("%-24s median %.2f ms  (p95 %.2f ms)" % (
                name, statistics.median(timings), sorted(timings)[int(runs * 0.95) - 1]))


if __name__ == "__main__":
    main()
