"""The slice of PostgreSQL's pg_catalog that drivers read.

Drivers look types up in pg_type (tokio-postgres for any OID it does not
know, psycopg's TypeInfo.fetch, pgvector-python's register_vector). Neither
IRIS nor SQLite has pg_catalog, so every worker keeps a small in-memory
SQLite copy of it, with pgvector's `vector` as a user type (OID 16385,
matching the front end's catalog). The front end passes such statements on
untranslated; they are recognised here and run on the catalog, whatever
the backend.
"""

import re

from .drivers.sqlite import SqliteDriver
from .sqlite_errors import fail, sqlite3_module

_CATALOG_SQL = re.compile(
    r"pg_catalog\.|\bpg_type\b|\bpg_namespace\b|\bpg_range\b|\bto_regtype\s*\(|::\s*regtype",
    re.IGNORECASE)

# (oid, name, length, category, array oid, regtype text)
_CATALOG_TYPES = (
    (16, "bool", 1, "B", 1000, "boolean"),
    (17, "bytea", -1, "U", 1001, "bytea"),
    (18, "char", 1, "Z", 1002, '"char"'),
    (19, "name", 64, "S", 1003, "name"),
    (20, "int8", 8, "N", 1016, "bigint"),
    (21, "int2", 2, "N", 1005, "smallint"),
    (23, "int4", 4, "N", 1007, "integer"),
    (25, "text", -1, "S", 1009, "text"),
    (26, "oid", 4, "N", 1028, "oid"),
    (114, "json", -1, "U", 199, "json"),
    (700, "float4", 4, "N", 1021, "real"),
    (701, "float8", 8, "N", 1022, "double precision"),
    (1042, "bpchar", -1, "S", 1014, "character"),
    (1043, "varchar", -1, "S", 1015, "character varying"),
    (1082, "date", 4, "D", 1182, "date"),
    (1083, "time", 8, "D", 1183, "time without time zone"),
    (1114, "timestamp", 8, "D", 1115, "timestamp without time zone"),
    (1184, "timestamptz", 8, "D", 1185, "timestamp with time zone"),
    (1560, "bit", -1, "V", 1561, "bit"),
    (1562, "varbit", -1, "V", 1563, "bit varying"),
    (1700, "numeric", -1, "N", 1231, "numeric"),
    (2950, "uuid", 16, "U", 2951, "uuid"),
    (3802, "jsonb", -1, "U", 3807, "jsonb"),
    (16385, "vector", -1, "U", 16386, "vector"),
)
_PUBLIC_NAMESPACE = 2200
_CATALOG_NAMESPACE = 11
_VECTOR_OID = 16385

# Type names to_regtype() accepts besides pg_type.typname.
_REGTYPE_ALIASES = {
    "boolean": "bool", "bigint": "int8", "smallint": "int2", "integer": "int4", "int": "int4",
    "real": "float4", "double precision": "float8", "character varying": "varchar",
    "character": "bpchar", "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz", "time without time zone": "time",
    "bit varying": "varbit", "decimal": "numeric", '"char"': "char",
}

# PostgreSQL spellings SQLite lacks, in catalog statements only, applied in
# this order. regtype is an OID that prints as the type's name, so what a
# cast means depends on where it stands; the rules follow how drivers write
# it: a column cast to regtype (`oid::regtype::text`, `typelem::regtype`) is
# displayed, a literal or parameter cast to regtype ('vector'::regtype,
# `t.oid = ?::regtype`) is compared with OIDs.
# A column reference, not the type name of an earlier cast (`?::text::regtype`).
_CAST_OPERAND = r"(?<![\w.:])([A-Za-z_][\w.]*)"
_CATALOG_REWRITES = (
    (re.compile(r"\bpg_catalog\.", re.IGNORECASE), ""),
    # column::regtype[::text]: the type's display name.
    (re.compile(_CAST_OPERAND + r"\s*::\s*regtype(?:\s*::\s*(?:text|varchar|name))?(?!\s*::\s*oid)\b",
                re.IGNORECASE),
     r"iriswire_regtype_name(\1)"),
    # column::regtype::oid is the column itself.
    (re.compile(_CAST_OPERAND + r"\s*::\s*regtype\s*::\s*oid\b", re.IGNORECASE), r"\1"),
    # 'name'::regtype::oid, ?::text::regtype: the type's OID, an error if unknown
    # (42704, as in PostgreSQL; to_regtype() is the lenient spelling).
    (re.compile(r"('(?:[^']|'')*'|\?)(?:\s*::\s*(?:text|varchar|name))?\s*::\s*regtype\s*::\s*oid\b",
                re.IGNORECASE),
     r"iriswire_regtype_oid(\1)"),
    (re.compile(r"('(?:[^']|'')*'|\?)(?:\s*::\s*(?:text|varchar|name))?\s*::\s*regtype\b", re.IGNORECASE),
     r"iriswire_regtype(\1)"),
    # Casts between SQLite's integers and texts are no-ops.
    (re.compile(r"::\s*(?:oid|regclass|regproc|name|text|varchar|int[248]|\"char\")\b", re.IGNORECASE), ""),
)

# SQLite labels an expression column by its source text, so a rewritten one
# would be called `iriswire_regtype_oid('vector')`; PostgreSQL calls a cast
# after its operand's column, else after the type, and a function after the
# function.
_CATALOG_LABEL = re.compile(
    r"(iriswire_regtype_name|iriswire_regtype_oid|iriswire_regtype|to_regtype)\((.*)\)\Z",
    re.IGNORECASE | re.DOTALL)
_CATALOG_LABELS = {"iriswire_regtype_oid": "oid", "iriswire_regtype": "regtype",
                   "to_regtype": "to_regtype"}
_IDENTIFIER = re.compile(r"(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)\Z")


def _catalog_label(name):
    match = _CATALOG_LABEL.match(name)
    if match is None:
        return name
    function = match.group(1).lower()
    if function == "iriswire_regtype_name":
        column = _IDENTIFIER.match(match.group(2).strip())
        return column.group(1) if column else "text"
    return _CATALOG_LABELS[function]


def _catalog_type_name(name):
    if name is None:
        return None
    text = str(name).strip()
    lowered = text.lower()
    for prefix in ("pg_catalog.", "public."):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix):]
    return _REGTYPE_ALIASES.get(lowered, lowered)


class Catalog:
    """An in-memory pg_catalog (pg_type, pg_namespace, pg_range) on SQLite."""

    def __init__(self):
        sqlite3 = sqlite3_module()
        self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn = self._conn
        # Declared types name PostgreSQL's (`pg_char` is "char"), so results
        # are described with the types drivers expect (tokio-postgres reads
        # typtype as "char", OIDs as oid).
        conn.execute(
            "CREATE TABLE pg_namespace (oid oid PRIMARY KEY, nspname name, nspowner oid)")
        conn.execute(
            "CREATE TABLE pg_type (oid oid PRIMARY KEY, typname name, typnamespace oid,"
            " typowner oid, typlen smallint, typbyval boolean, typtype pg_char,"
            " typcategory pg_char, typispreferred boolean, typisdefined boolean,"
            " typdelim pg_char, typrelid oid, typelem oid, typarray oid,"
            " typinput text, typoutput text, typreceive text, typsend text,"
            " typbasetype oid, typtypmod integer, typndims integer, typnotnull boolean,"
            " typcollation oid)")
        conn.execute(
            "CREATE TABLE pg_range (rngtypid oid PRIMARY KEY, rngsubtype oid,"
            " rngmultitypid oid, rngcollation oid, rngsubopc oid)")
        conn.executemany("INSERT INTO pg_namespace VALUES (?, ?, 10)", (
            (_CATALOG_NAMESPACE, "pg_catalog"), (_PUBLIC_NAMESPACE, "public")))
        rows = []
        for oid, name, length, category, array, _ in _CATALOG_TYPES:
            namespace = _PUBLIC_NAMESPACE if oid == _VECTOR_OID else _CATALOG_NAMESPACE
            byval = 0 < length <= 8
            for row_oid, row_name, row_len, row_cat, elem, arr in (
                    (oid, name, length, category, 0, array),
                    (array, "_" + name, -1, "A", oid, 0)):
                rows.append((row_oid, row_name, namespace, 10, row_len, byval and row_cat != "A",
                             "b", row_cat, 0, 1, ",", 0, elem, arr,
                             row_name + "_in", row_name + "_out", row_name + "_recv",
                             row_name + "_send", 0, -1, 0, 0, 0))
        conn.executemany("INSERT INTO pg_type VALUES (%s)" % ",".join("?" * 23), rows)
        by_name = {name: oid for oid, name, *_ in _CATALOG_TYPES}
        by_name.update({"_" + name: array for _, name, _, _, array, _ in _CATALOG_TYPES})
        display = {oid: shown for oid, _, _, _, _, shown in _CATALOG_TYPES}
        display.update({array: shown + "[]" for _, _, _, _, array, shown in _CATALOG_TYPES})

        def to_regtype(name):
            return by_name.get(_catalog_type_name(name))

        def regtype_strict(name):
            oid = to_regtype(name)
            if oid is None and name is not None:
                fail("42704", 'type "%s" does not exist' % name)
            return oid

        def regtype_name(oid):
            if oid is None:
                return None
            return display.get(int(oid), str(oid))

        conn.create_function("to_regtype", 1, to_regtype, deterministic=True)
        conn.create_function("iriswire_regtype", 1, regtype_strict, deterministic=True)
        conn.create_function("iriswire_regtype_oid", 1, regtype_strict, deterministic=True)
        conn.create_function("iriswire_regtype_name", 1, regtype_name, deterministic=True)
        self.driver = CatalogDriver(conn)

    @staticmethod
    def handles(sql):
        return _CATALOG_SQL.search(sql) is not None

    @staticmethod
    def translate(sql):
        for pattern, replacement in _CATALOG_REWRITES:
            sql = pattern.sub(replacement, sql)
        return sql


class CatalogDriver(SqliteDriver):
    """The sqlite driver's machinery (errors, declared types, Describe by
    EXPLAIN and a temporary view) on the catalog's connection, with
    PostgreSQL's labels for the rewritten expressions."""

    def __init__(self, conn):  # pylint: disable=super-init-not-called
        self._conn = conn
        self._cursor = conn.cursor()
        self._total_changes = 0
        self.cancel = conn.interrupt
        self.server_version = sqlite3_module().sqlite_version

    @staticmethod
    def _relabel(columns):
        if not columns:
            return columns
        return tuple((_catalog_label(c[0]),) + tuple(c[1:]) for c in columns)

    def execute(self, sql, params, describe):
        columns, fetch = SqliteDriver.execute(self, sql, params, describe)
        return self._relabel(columns), fetch

    def prepare(self, sql):
        columns, params = SqliteDriver.prepare(self, sql)
        return self._relabel(columns), params
