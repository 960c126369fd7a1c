"""The IRIS backend's schema, read from IRIS's INFORMATION_SCHEMA (TABLES,
COLUMNS, INDEXES, TABLE_CONSTRAINTS, KEY_COLUMN_USAGE,
REFERENTIAL_CONSTRAINTS, VIEWS) with plain SELECTs, the same for both IRIS
drivers. IRIS's default schema for SQL tables, ``SQLUser``, is shown as
PostgreSQL's ``public``; system schemas (``%...``, ``INFORMATION_SCHEMA``)
are left out.

The schema version is ``COUNT(*)`` and ``MAX(TimeChanged)`` of
``%Dictionary.CompiledClass`` (every SQL table is a compiled class: CREATE
adds one, ALTER recompiles it, DROP removes it): one aggregate, whatever the
number of tables.
"""

from .schema_reader import REFERENTIAL_ACTIONS, Column, ForeignKey, Index, Relation, Snapshot

IRIS_DEFAULT_SCHEMA = "SQLUser"

_TABLES = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, DESCRIPTION FROM INFORMATION_SCHEMA.TABLES"
    " WHERE TABLE_TYPE IN ('BASE TABLE', 'VIEW')")
_COLUMNS = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE,"
    " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE, COLUMN_DEFAULT,"
    " AUTO_INCREMENT FROM INFORMATION_SCHEMA.COLUMNS")
_INDEXES = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME, ORDINAL_POSITION, PRIMARY_KEY,"
    " NON_UNIQUE, ASC_OR_DESC FROM INFORMATION_SCHEMA.INDEXES")
_CONSTRAINTS = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE"
    " FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS")
_KEY_COLUMNS = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION,"
    " REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME"
    " FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE")
_REFERENTIAL = (
    "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE"
    " FROM INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS")
_VIEWS = "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM INFORMATION_SCHEMA.VIEWS"
_VERSION = (
    "SELECT COUNT(*), MAX(TimeChanged) FROM %Dictionary.CompiledClass"
    " WHERE Name NOT LIKE '\\%%' ESCAPE '\\'")


def pg_schema(iris_schema):
    """The PostgreSQL name of an IRIS schema."""
    return "public" if iris_schema == IRIS_DEFAULT_SCHEMA else iris_schema


def _user_schema(schema):
    return bool(schema) and not schema.startswith("%") and schema.upper() != "INFORMATION_SCHEMA"


def _yes(value):
    return str(value).strip().upper() in ("YES", "1", "TRUE")


def _int(value):
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


class IrisSchemaReader:
    """Reads IRIS's INFORMATION_SCHEMA through `query(sql, params)`, which
    runs a statement on the worker's session and returns all its rows."""

    def __init__(self, query):
        self._query = query

    def version(self):
        try:
            rows = self._query(_VERSION, ())
        except Exception:  # an IRIS without the dictionary table: no cheap version
            return None
        return tuple(rows[0]) if rows else None

    def read(self):
        query = self._query
        relations = {}
        for schema, name, table_type, description in query(_TABLES, ()):
            if not _user_schema(schema):
                continue
            relation = Relation(pg_schema(schema), name, "v" if table_type == "VIEW" else "r")
            relation.comment = description or None
            relations[(schema, name)] = relation
        columns = sorted((r for r in query(_COLUMNS, ()) if (r[0], r[1]) in relations),
                         key=lambda r: (r[0], r[1], _int(r[3]) or 0))
        for (schema, table, name, _, data_type, length, precision, scale, nullable, default,
             auto) in columns:
            relations[(schema, table)].columns.append(Column(
                name, str(data_type or ""), not _yes(nullable), default if default != "" else None,
                _int(length), _int(precision), _int(scale), _yes(auto)))
        constraints = {}
        for schema, table, name, kind in query(_CONSTRAINTS, ()):
            if (schema, table) in relations:
                constraints[(schema, table, name)] = [str(kind).upper(), [], None]
        for (schema, table, name, column, position, ref_schema, ref_table,
             ref_column) in query(_KEY_COLUMNS, ()):
            entry = constraints.get((schema, table, name))
            if entry is not None:
                entry[1].append((_int(position) or 0, column, ref_schema, ref_table, ref_column))
        actions = {}
        for schema, name, on_update, on_delete in self._optional(_REFERENTIAL):
            actions[(schema, name)] = (REFERENTIAL_ACTIONS.get(str(on_update).upper(), "a"),
                                       REFERENTIAL_ACTIONS.get(str(on_delete).upper(), "a"))
        for (schema, table, name), (kind, keys, _) in sorted(constraints.items()):
            relation = relations[(schema, table)]
            keys.sort()
            names = tuple(k[1] for k in keys)
            if kind in ("PRIMARY KEY", "UNIQUE") and names:
                relation.indexes.append(Index(name, names, True, kind == "PRIMARY KEY", True))
            elif kind == "FOREIGN KEY" and names:
                on_update, on_delete = actions.get((schema, name), ("a", "a"))
                relation.foreign_keys.append(ForeignKey(
                    name, names, pg_schema(keys[0][2] or schema), keys[0][3],
                    tuple(k[4] for k in keys), on_update, on_delete))
        self._read_indexes(relations)
        for schema, name, definition in self._optional(_VIEWS):
            relation = relations.get((schema, name))
            if relation is not None:
                relation.definition = definition
        schemas = sorted({r.schema for r in relations.values()} | {"public"})
        return Snapshot(list(relations.values()), tuple(schemas))

    def _read_indexes(self, relations):
        """Indexes that back no constraint (CREATE INDEX), and unique ones IRIS
        made for constraints it reports only here."""
        indexes = {}
        for schema, table, name, column, position, primary, non_unique, order in self._query(
                _INDEXES, ()):
            relation = relations.get((schema, table))
            if relation is None:
                continue
            entry = indexes.setdefault((schema, table, name), [relation, [], _yes(primary),
                                                               not _yes(non_unique)])
            entry[1].append((_int(position) or 0, column, str(order or "").upper() == "D"))
        for (_, _, name), (relation, keys, primary, unique) in sorted(
                indexes.items(), key=lambda item: item[0]):
            keys.sort()
            names = tuple(k[1] for k in keys)
            known = {c.name for c in relation.columns}
            if not names or not set(names) <= known:
                continue  # IRIS's own (the row ID, the bitmap extent)
            if any(i.constraint and (i.name == name or (i.columns == names and i.primary == primary))
                   for i in relation.indexes):
                continue  # the index of a PRIMARY KEY or UNIQUE constraint
            relation.indexes.append(Index(name, names, unique, primary, primary,
                                          tuple(k[2] for k in keys)))

    def _optional(self, sql):
        """Rows of a view some IRIS versions lack: none when it cannot be read."""
        try:
            return self._query(sql, ())
        except Exception:
            return []
