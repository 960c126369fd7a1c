"""IRIS's INFORMATION_SCHEMA views and class dictionary, over SQLite's own
catalog: what iriswire's catalog reader (iris/iriswire_worker/schema_iris.py)
and the front end's column lookup read on real IRIS. Column names and
meanings follow IRIS's INFORMATION_SCHEMA documentation (class reference
INFORMATION.SCHEMA.TABLES, COLUMNS, INDEXES, TABLE_CONSTRAINTS,
KEY_COLUMN_USAGE, REFERENTIAL_CONSTRAINTS, VIEWS); COLUMNS splits the type
as iris-pgwire reads it on real IRIS (src/iris_pgwire/iris_executor.py):
DATA_TYPE is the bare name, lengths, precision and scale columns of their own.
"""

import re

from ._rewrite import INFORMATION_SCHEMA_COLUMNS

# IRIS's INFORMATION_SCHEMA views and class dictionary (the columns iriswire
# reads), over SQLite's catalog. Constraint names are IRIS's style
# (TABLEPKEY1, ...); IRIS has no CHECK constraints in INFORMATION_SCHEMA.
_USER_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
_UNIQUE_INDEXES = (
    "SELECT m.name AS t, il.name AS i, il.seq AS seq, ii.seqno AS seqno, ii.name AS c"
    " FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii"
    " WHERE " + _USER_TABLES + " AND il.origin = 'u'")
_FOREIGN_KEYS = (
    "SELECT m.name AS t, f.id AS id, f.seq AS seq, f.\"from\" AS c, f.\"table\" AS rt,"
    " f.\"to\" AS rc, f.on_update AS ou, f.on_delete AS od"
    " FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE " + _USER_TABLES)
_INFORMATION_SCHEMA = {
    "TABLES": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " CASE m.type WHEN 'view' THEN 'VIEW' ELSE 'BASE TABLE' END AS TABLE_TYPE,"
        " NULL AS DESCRIPTION FROM sqlite_master m"
        " WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'"),
    "COLUMNS_LENIENT": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, p.name AS COLUMN_NAME,"
        " p.cid + 1 AS ORDINAL_POSITION, lower(p.type) AS DATA_TYPE,"
        " CASE WHEN p.type LIKE '%CHAR%(%' OR p.type LIKE '%BINARY%(%'"
        " THEN CAST(substr(p.type, instr(p.type, '(') + 1) AS INTEGER) END AS CHARACTER_MAXIMUM_LENGTH,"
        " CASE WHEN p.type LIKE 'NUMERIC(%' OR p.type LIKE 'DECIMAL(%'"
        " THEN CAST(substr(p.type, instr(p.type, '(') + 1) AS INTEGER) END AS NUMERIC_PRECISION,"
        " CASE WHEN p.type LIKE 'NUMERIC(%,%' OR p.type LIKE 'DECIMAL(%,%'"
        " THEN CAST(substr(p.type, instr(p.type, ',') + 1) AS INTEGER) END AS NUMERIC_SCALE,"
        " CASE WHEN p.\"notnull\" OR p.pk THEN 'NO' ELSE 'YES' END AS IS_NULLABLE,"
        " p.dflt_value AS COLUMN_DEFAULT,"
        " CASE WHEN upper(p.type) = 'IDENTITY' THEN 'YES' ELSE 'NO' END AS AUTO_INCREMENT"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type IN ('table', 'view')"),
    "INDEXES": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, il.name AS INDEX_NAME,"
        " ii.name AS COLUMN_NAME, ii.seqno + 1 AS ORDINAL_POSITION,"
        " il.origin = 'pk' AS PRIMARY_KEY, 1 - il.\"unique\" AS NON_UNIQUE, 'A' AS ASC_OR_DESC"
        " FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii"
        " WHERE " + _USER_TABLES + " AND il.origin = 'c'"),
    "TABLE_CONSTRAINTS": (
        "SELECT DISTINCT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " upper(m.name) || 'PKEY1' AS CONSTRAINT_NAME, 'PRIMARY KEY' AS CONSTRAINT_TYPE"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE " + _USER_TABLES + " AND p.pk"
        " UNION SELECT DISTINCT 'SQLUser', t, upper(t) || 'UNIQUE' || seq, 'UNIQUE' FROM ("
        + _UNIQUE_INDEXES + ") UNION SELECT DISTINCT 'SQLUser', t, upper(t) || 'FKEY' || id,"
        " 'FOREIGN KEY' FROM (" + _FOREIGN_KEYS + ")"),
    "KEY_COLUMN_USAGE": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " upper(m.name) || 'PKEY1' AS CONSTRAINT_NAME, p.name AS COLUMN_NAME,"
        " p.pk AS ORDINAL_POSITION, NULL AS REFERENCED_TABLE_SCHEMA,"
        " NULL AS REFERENCED_TABLE_NAME, NULL AS REFERENCED_COLUMN_NAME"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE " + _USER_TABLES + " AND p.pk"
        " UNION ALL SELECT 'SQLUser', t, upper(t) || 'UNIQUE' || seq, c, seqno + 1, NULL, NULL,"
        " NULL FROM (" + _UNIQUE_INDEXES + ") UNION ALL SELECT 'SQLUser', t,"
        " upper(t) || 'FKEY' || id, c, seq + 1, 'SQLUser', rt, rc FROM (" + _FOREIGN_KEYS + ")"),
    "REFERENTIAL_CONSTRAINTS": (
        "SELECT DISTINCT 'SQLUser' AS CONSTRAINT_SCHEMA, upper(t) || 'FKEY' || id AS CONSTRAINT_NAME,"
        " ou AS UPDATE_RULE, od AS DELETE_RULE FROM (" + _FOREIGN_KEYS + ")"),
    "VIEWS": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, m.sql AS VIEW_DEFINITION"
        " FROM sqlite_master m WHERE m.type = 'view'"),
}
# %Dictionary.CompiledClass: one class per table; TimeChanged moves with the schema.
_COMPILED_CLASS = (
    "(SELECT 'User.' || m.name AS Name, 'SQLUser' AS SqlSchemaName, m.name AS SqlTableName,"
    " (SELECT schema_version FROM pragma_schema_version) AS TimeChanged FROM sqlite_master m"
    " WHERE m.type IN ('table', 'view'))")



# The lenient stand-in keeps SQLite's declared type in DATA_TYPE; the strict
# one splits it as IRIS does (_rewrite.INFORMATION_SCHEMA_COLUMNS), plus the
# AUTO_INCREMENT column the catalog reader asks for.
_COLUMNS_STRICT = (INFORMATION_SCHEMA_COLUMNS.strip()[1:-1].replace(
    "p.cid + 1 AS ORDINAL_POSITION ",
    "p.cid + 1 AS ORDINAL_POSITION, CASE WHEN upper(p.type) = 'IDENTITY' THEN 'YES' ELSE 'NO' END"
    " AS AUTO_INCREMENT "))
_VIEW = re.compile(r"\"?INFORMATION_SCHEMA\"?\.\"?(\w+)\"?", re.I)
_DICTIONARY = re.compile(r"%Dictionary\.CompiledClass\b", re.I)


def substitute(sql, strict):
    """``sql`` with IRIS's INFORMATION_SCHEMA views and %Dictionary.CompiledClass
    replaced by SQLite subqueries (unknown views are left alone)."""
    views = dict(_INFORMATION_SCHEMA)
    views["COLUMNS"] = _COLUMNS_STRICT if strict else views.pop("COLUMNS_LENIENT")
    sql = _DICTIONARY.sub(lambda _: _COMPILED_CLASS, sql)
    return _VIEW.sub(lambda m: "(%s)" % views[m.group(1).upper()]
                     if m.group(1).upper() in views else m.group(0), sql)
