"""The bridge worker's pg_catalog emulation (`Catalog` in iris/iriswire_worker/catalog.py).

Drivers look types up in pg_type: psycopg's ``TypeInfo.fetch`` (and so
pgvector-python's ``register_vector``), tokio-postgres for an OID it does not
know, hand-written ``typname = 'vector'`` lookups. The front end passes such
statements on untranslated (``$n`` become ``?``); the worker answers them
from its in-memory SQLite catalog whatever its backend, SQLite or IRIS.

Standard library only, like test_worker.py (whose worker client this file
reuses): run with ``python3 -m pytest tests/python`` or
``python3 -m unittest discover tests/python``. psycopg, when installed, only
supplies the exact text of its TypeInfo query.
"""

import os
import re
import types
import unittest

from test_worker import STANDIN, WorkerTestCase, standin_env

from iriswire_worker import catalog, catalog_sql

VECTOR_OID = 16385

# psycopg 3.3's TypeInfo._get_info_query, with `%(name)s` sent as `$1` and
# so reaching the worker as `?`; the installed psycopg's own text is used
# when it can be had (see psycopg_typeinfo_query).
PSYCOPG_TYPEINFO_QUERY = """\
SELECT
    typname AS name, oid, typarray AS array_oid,
    oid::regtype::text AS regtype, typdelim AS delimiter
FROM pg_type t
WHERE t.oid = {regtype}
ORDER BY t.oid
"""

# tokio-postgres's TYPEINFO_QUERY (src/prepare.rs), for an unknown result OID.
TOKIO_POSTGRES_TYPEINFO_QUERY = """\
SELECT t.typname, t.typtype, t.typelem, r.rngsubtype, t.typbasetype, n.nspname, t.typrelid
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid
INNER JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid
WHERE t.oid = ?
"""


def psycopg_typeinfo_query(has_to_regtype=True):
    """psycopg's TypeInfo query as the worker receives it.

    psycopg asks ``to_regtype(%(name)s)`` of servers it knows have the
    function (PostgreSQL 9.4+) and ``%(name)s::regtype`` of others.
    """
    try:
        from psycopg import sql
        from psycopg.types import TypeInfo

        info = types.SimpleNamespace(vendor="PostgreSQL" if has_to_regtype else "other",
                                     server_version=160000)
        query = TypeInfo._get_info_query(types.SimpleNamespace(info=info))
        text = query.as_string(None) if isinstance(query, sql.Composable) else str(query)
    except Exception:  # psycopg missing, or its internals moved: the fixed copy
        text = PSYCOPG_TYPEINFO_QUERY.format(
            regtype="to_regtype(%(name)s)" if has_to_regtype else "%(name)s::regtype")
    assert "%(name)s" in text, text
    return text.replace("%(name)s", "?")


class CatalogTests:
    """Shared by every driver: subclasses provide ``worker()``."""

    def test_psycopg_typeinfo_query(self):
        worker = self.worker()
        query = psycopg_typeinfo_query()
        self.assertIn("to_regtype(?)", query)
        result = worker.ok(query, ("vector",), describe=True)
        self.assertEqual([c[:2] for c in result.columns], [
            ("name", "name"), ("oid", "oid"), ("array_oid", "oid"),
            ("regtype", ""), ("delimiter", "pg_char")])
        self.assertEqual(result.rows, [("vector", VECTOR_OID, 16386, "vector", ",")])
        self.assertEqual(result.complete, (-1, False))
        # register_vector also fetches bit (and must find it), halfvec and
        # sparsevec (and copes with their absence).
        self.assertEqual(worker.ok(query, ("bit",)).rows, [("bit", 1560, 1561, "bit", ",")])
        for name in ("halfvec", "sparsevec", "no_such_type", ""):
            self.assertEqual(worker.ok(query, (name,)).rows, [], name)
        # to_regtype() takes PostgreSQL's spellings and schema prefixes.
        for name, row in (("integer", ("int4", 23, 1007, "integer", ",")),
                          ("double precision", ("float8", 701, 1022, "double precision", ",")),
                          ("public.vector", ("vector", VECTOR_OID, 16386, "vector", ",")),
                          ("pg_catalog.jsonb", ("jsonb", 3802, 3807, "jsonb", ",")),
                          ("_vector", ("_vector", 16386, 0, "vector[]", ",")),
                          ("TIMESTAMP WITH TIME ZONE",
                           ("timestamptz", 1184, 1185, "timestamp with time zone", ","))):
            self.assertEqual(worker.ok(query, (name,)).rows, [row], name)

    def test_psycopg_typeinfo_query_without_to_regtype(self):
        worker = self.worker()
        query = psycopg_typeinfo_query(has_to_regtype=False)
        self.assertIn("?::regtype", query)
        self.assertEqual(worker.ok(query, ("vector",)).rows,
                         [("vector", VECTOR_OID, 16386, "vector", ",")])
        # psycopg takes UndefinedObject as "no such type".
        self.assertError(worker.query(query, ("no_such_type",)), "42704",
                         'type "no_such_type" does not exist')

    def test_prepare_describes_the_typeinfo_query(self):
        worker = self.worker()
        tag, (columns, params) = worker.prepare(psycopg_typeinfo_query())
        self.assertEqual(tag, b"T")
        self.assertEqual([c[:2] for c in columns], [
            ("name", "name"), ("oid", "oid"), ("array_oid", "oid"),
            ("regtype", ""), ("delimiter", "pg_char")])
        self.assertIsNone(params)
        tag, (columns, _) = worker.prepare("SELECT oid FROM pg_type WHERE typname = ?")
        self.assertEqual((tag, columns), (b"T", (("oid", "oid", 0, 0, 0, 2),)))
        tag, error = worker.prepare("SELECT nope FROM pg_type")
        self.assertEqual((tag, error[0]), (b"E", "42703"))

    def test_simple_lookups(self):
        worker = self.worker()
        result = worker.ok("SELECT oid FROM pg_type WHERE typname = 'vector'", describe=True)
        self.assertEqual(result.columns, (("oid", "oid", 0, 0, 0, 2),))
        self.assertEqual(result.rows, [(VECTOR_OID,)])
        self.assertEqual(worker.ok("SELECT oid FROM pg_catalog.pg_type WHERE typname = ?", ("vector",)).rows,
                         [(VECTOR_OID,)])
        self.assertEqual(worker.ok(
            "SELECT typname, oid FROM pg_type WHERE typname IN ('vector', 'halfvec', 'sparsevec')").rows,
            [("vector", VECTOR_OID)])
        self.assertEqual(worker.ok("SELECT oid FROM pg_type WHERE typname = 'no_such_type'").rows, [])
        # Cast spellings, with PostgreSQL's column names.
        cast = worker.ok("SELECT 'vector'::regtype::oid")
        self.assertEqual((cast.columns[0][0], cast.rows), ("oid", [(VECTOR_OID,)]))
        self.assertEqual(worker.ok("SELECT oid FROM pg_type WHERE oid = 'vector'::regtype").rows,
                         [(VECTOR_OID,)])
        self.assertEqual(worker.ok("SELECT typname FROM pg_type WHERE oid = ?::text::regtype",
                                   ("int8",)).rows, [("int8",)])
        named = worker.ok("SELECT typelem::regtype, to_regtype('vector') FROM pg_type WHERE typname = '_vector'")
        self.assertEqual([c[0] for c in named.columns], ["typelem", "to_regtype"])
        self.assertEqual(named.rows, [("vector", VECTOR_OID)])
        self.assertEqual(worker.ok("SELECT to_regtype('no_such_type')").rows, [(None,)])
        self.assertError(worker.query("SELECT 'no_such_type'::regtype::oid"), "42704",
                         'type "no_such_type" does not exist')

    def test_tokio_postgres_typeinfo_query(self):
        worker = self.worker()
        result = worker.ok(TOKIO_POSTGRES_TYPEINFO_QUERY, (VECTOR_OID,), describe=True)
        self.assertEqual(result.rows, [("vector", "b", 0, None, 0, "public", 0)])
        self.assertEqual([c[1] for c in result.columns],
                         ["name", "pg_char", "oid", "oid", "oid", "name", "oid"])
        self.assertEqual(worker.ok(TOKIO_POSTGRES_TYPEINFO_QUERY, (16386,)).rows,
                         [("_vector", "b", VECTOR_OID, None, 0, "public", 0)])

    def test_pg_type_contents(self):
        worker = self.worker()
        rows = worker.ok(
            "SELECT oid, typname, typnamespace, typlen, typtype, typdelim, typarray, typelem,"
            " typbasetype, typnotnull, typcategory, typinput, typoutput FROM pg_type").rows
        by_name = {row[1]: row for row in rows}
        builtin = {"bool": 16, "bytea": 17, "int8": 20, "int2": 21, "int4": 23, "text": 25,
                   "oid": 26, "json": 114, "float4": 700, "float8": 701, "varchar": 1043,
                   "date": 1082, "timestamp": 1114, "timestamptz": 1184, "numeric": 1700,
                   "uuid": 2950, "jsonb": 3802}
        for name, oid in builtin.items():
            row = by_name[name]
            self.assertEqual((row[0], row[2]), (oid, 11), name)
            array = by_name["_" + name]
            self.assertEqual((array[0], array[7], array[10]), (row[6], oid, "A"), name)
        self.assertEqual(by_name["int4"][3], 4)
        self.assertEqual(by_name["vector"], (VECTOR_OID, "vector", 2200, -1, "b", ",", 16386, 0, 0, 0,
                                             "U", "vector_in", "vector_out"))
        self.assertEqual(by_name["_vector"][:8], (16386, "_vector", 2200, -1, "b", ",", 0, VECTOR_OID))
        self.assertEqual(len({row[0] for row in rows}), len(rows), "OIDs are unique")
        self.assertEqual(worker.ok("SELECT oid, nspname FROM pg_namespace ORDER BY oid").rows,
                         [(11, "pg_catalog"), (2200, "public")])
        joined = worker.ok("SELECT n.nspname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n"
                           " ON n.oid = t.typnamespace WHERE t.typname = ?", ("vector",))
        self.assertEqual(joined.rows, [("public",)])

    def test_transaction_state_is_the_backends(self):
        worker = self.worker()
        worker.ok(self.begin)
        result = worker.ok("SELECT oid FROM pg_type WHERE typname = 'int4'")
        self.assertEqual(result.complete, (-1, True))
        self.assertEqual(worker.query("SELECT nope FROM pg_type").error[5], True)
        self.assertEqual(worker.ok("ROLLBACK").complete, (-1, False))

    def test_other_statements_reach_the_backend(self):
        worker = self.worker()
        # `pg_typeahead` is not `pg_type`: a table of the backend's.
        worker.ok("CREATE TABLE pg_typeahead (id INTEGER)")
        worker.ok("INSERT INTO pg_typeahead VALUES (7)")
        self.assertEqual(worker.ok("SELECT id FROM pg_typeahead").rows, [(7,)])
        self.assertError(worker.query("SELECT typname FROM pg_typeahead"), "42703")


class CatalogOnSqliteTest(CatalogTests, WorkerTestCase):
    begin = "BEGIN"

    def worker(self):
        return self.sqlite_worker()

    def test_the_database_file_gets_no_catalog(self):
        worker = self.worker()
        worker.ok("SELECT oid FROM pg_type WHERE typname = 'vector'")
        tables = worker.ok("SELECT name FROM sqlite_master WHERE name LIKE 'pg%'").rows
        self.assertEqual(tables, [])


class CatalogOnIrisEmbeddedTest(CatalogTests, WorkerTestCase):
    """IRIS (here its stand-in) has no pg_catalog: every answer above is the catalog's."""

    begin = "START TRANSACTION"
    config = {"driver": "iris-embedded", "namespace": "USER"}

    def worker(self):
        return self.start(self.config, env=standin_env(self.database))


class CatalogOnIrisNativeTest(CatalogOnIrisEmbeddedTest):
    config = {"driver": "iris-native", "host": "127.0.0.1", "port": 1972, "namespace": "USER",
              "username": "_SYSTEM", "password": "SYS"}


class CatalogRewriteTest(unittest.TestCase):
    """The textual rewrites, without a worker."""

    def test_handles(self):
        for sql in ("SELECT * FROM pg_type", "select 1 from PG_CATALOG.pg_namespace",
                    "SELECT to_regtype(?)", "SELECT 'x' :: regtype", "SELECT * FROM pg_range"):
            self.assertTrue(catalog.Catalog.handles(sql), sql)
        for sql in ("SELECT * FROM pg_typeahead", "SELECT * FROM items", "SELECT regtype FROM t"):
            self.assertFalse(catalog.Catalog.handles(sql), sql)

    def test_the_front_end_recognises_the_same_statements(self):
        # src/translate's CATALOG_SQL is this pattern, written as concat! pieces.
        translate = os.path.join(os.path.dirname(STANDIN), "..", "src", "translate")
        texts = [open(os.path.join(translate, name)).read() for name in sorted(os.listdir(translate))
                 if name.endswith(".rs")]
        source = next(t for t in texts if "static CATALOG_SQL" in t)
        block = source[source.index("static CATALOG_SQL"):]
        block = block[:block.index(".expect(")]
        rust = "".join(re.findall(r'r"([^"]*)"', block))
        self.assertEqual(rust, catalog._CATALOG_SQL.pattern)
        for sql in ("SELECT * FROM information_schema.tables", "SELECT pg_get_indexdef(1)",
                    "SELECT c.oid::pg_catalog.regclass FROM pg_class c", "SELECT * FROM pg_roles",
                    "SELECT 1 FROM pg_stat_activity"):
            self.assertTrue(catalog.Catalog.handles(sql), sql)
        for sql in ("SELECT * FROM pg_typeahead", "SELECT pg_int(x) FROM t",
                    'SELECT COLUMN_NAME FROM "INFORMATION_SCHEMA".COLUMNS', "SELECT version()",
                    "SELECT * FROM users WHERE type = 1"):
            self.assertFalse(catalog.Catalog.handles(sql), sql)

    def test_translate(self):
        # What each spelling becomes on the catalog (catalog_sql); result
        # columns carry PostgreSQL's names as aliases.
        cases = {
            "SELECT oid::regtype::text FROM pg_catalog.pg_type":
                'SELECT iriswire_regtype_name(oid) AS "oid" FROM pg_type',
            "SELECT t.typelem::regtype FROM pg_type t":
                'SELECT iriswire_regtype_name(t.typelem) AS "typelem" FROM pg_type t',
            "SELECT typelem::regtype::oid FROM pg_type": 'SELECT typelem AS "typelem" FROM pg_type',
            "SELECT 'vector'::regtype::oid": "SELECT CAST(iriswire_regtype('vector') AS INTEGER) AS \"oid\"",
            "WHERE t.oid = ?::regtype": "WHERE t.oid = iriswire_regtype(?1)",
            "WHERE t.oid = ?::text::regtype": "WHERE t.oid = iriswire_regtype(?1)",
            "WHERE t.oid = 'it''s'::regtype": "WHERE t.oid = iriswire_regtype('it''s')",
            "SELECT to_regtype(?)::oid, typlen::int4, 'a'::text FROM pg_type":
                'SELECT CAST(to_regtype(?1) AS INTEGER) AS "to_regtype", typlen AS "typlen",'
                " 'a' AS \"text\" FROM pg_type",
        }
        for sql, expected in cases.items():
            self.assertEqual(catalog_sql.rewrite(sql).sql, expected, sql)

    def test_labels(self):
        # PostgreSQL's FigureColname: a cast is named after its operand's
        # column or function, else after the type; plain columns keep theirs.
        def labels(sql):
            return re.findall(r'AS "([^"]*)"', catalog_sql.rewrite(sql).sql)

        self.assertEqual(labels("SELECT t.oid::regtype::text FROM pg_type t"), ["oid"])
        self.assertEqual(labels("SELECT 'vector'::regtype::oid"), ["oid"])
        self.assertEqual(labels("SELECT ?::regtype"), ["regtype"])
        self.assertEqual(labels("SELECT to_regtype(?)"), ["to_regtype"])
        self.assertEqual(labels("SELECT typname FROM pg_type"), [])

    def test_psycopg_query_text(self):
        # Whatever psycopg is installed: the shape the worker is written for.
        query = psycopg_typeinfo_query()
        normalised = re.sub(r"\s+", " ", query).strip()
        self.assertEqual(normalised, re.sub(r"\s+", " ", PSYCOPG_TYPEINFO_QUERY.format(
            regtype="to_regtype(?)")).strip())


if __name__ == "__main__":
    unittest.main()
