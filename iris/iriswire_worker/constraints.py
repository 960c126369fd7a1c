"""Which table, column and constraint a SQLite integrity error is about.

PostgreSQL's ErrorResponse for class 23 names the schema, table, column and
constraint, and ORMs read those fields (SQLAlchemy and Django map a unique
violation to the constraint it names). SQLite's message names only the
table and columns (``UNIQUE constraint failed: t.a, t.b``), so the
constraint is found from the table's own schema (PRAGMA table_info and
index_list) and named as PostgreSQL names what it creates implicitly:
``t_pkey``, ``t_a_b_key``, ``t_x_fkey``; an index created by name keeps it.
Only runs when a statement has already failed.
"""

import re

_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)\Z")
_UNIQUE_INDEX = re.compile(r"UNIQUE constraint failed: index '([^']+)'\Z")
_NOT_NULL = re.compile(r"NOT NULL constraint failed: (?:(.+)\.)?([^.]+)\Z")
_CHECK = re.compile(r"CHECK constraint failed: (.+)\Z")
# The table an INSERT, UPDATE or DELETE writes to.
_TARGET = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+'
    r'(?:"?main"?\.)?("(?:[^"]|"")+"|[^\s(]+)', re.IGNORECASE)
# PostgreSQL truncates identifiers it makes up to NAMEDATALEN - 1 bytes.
_NAME_MAX = 63


def _pg_name(table, columns, suffix):
    return ("%s_%s_%s" % (table, "_".join(columns), suffix))[:_NAME_MAX]


def _unquote(name):
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def _rows(conn, pragma, table):
    try:
        return conn.execute("SELECT * FROM pragma_%s(?)" % pragma, (table,)).fetchall()
    except Exception:  # noqa: BLE001 - naming is best effort; the error stands
        return []


def _unique_constraint(conn, table, columns):
    """The PostgreSQL name of the unique constraint or index over ``columns``."""
    pk = [row[1] for row in sorted(_rows(conn, "table_info", table), key=lambda r: r[5]) if row[5]]
    if pk == columns:
        return "%s_pkey" % table[:_NAME_MAX - 5]
    for _, index, unique, origin, _partial in _rows(conn, "index_list", table):
        if not unique:
            continue
        cols = [row[2] for row in sorted(_rows(conn, "index_info", index), key=lambda r: r[0])]
        if cols != columns:
            continue
        if origin == "pk":
            return "%s_pkey" % table[:_NAME_MAX - 5]
        if origin == "u":
            return _pg_name(table, columns, "key")
        return index
    return _pg_name(table, columns, "key")


def describe_violation(conn, error, sql):
    """Fills ``error``'s schema, table, column and constraint fields (and
    PostgreSQL's wording that names the constraint) from SQLite's message
    in ``error.detail``."""
    message = error.detail or ""
    target = _TARGET.match(sql)
    table = _unquote(target.group(1)) if target else None
    error.schema = "public"
    if error.sqlstate == "23505":
        match = _UNIQUE_INDEX.match(message)
        if match:
            error.constraint = match.group(1)
        else:
            match = _UNIQUE.match(message)
            if match:
                pairs = [part.strip().rsplit(".", 1) for part in match.group(1).split(",")]
                if all(len(p) == 2 for p in pairs):
                    table = pairs[0][0]
                    columns = [p[1] for p in pairs]
                    error.constraint = _unique_constraint(conn, table, columns)
                    if len(columns) == 1:
                        error.column = columns[0]
        if error.constraint:
            error.message = 'duplicate key value violates unique constraint "%s"' % error.constraint
    elif error.sqlstate == "23502":
        match = _NOT_NULL.match(message)
        if match:
            table = match.group(1) or table
            error.column = match.group(2)
    elif error.sqlstate == "23503" and table:
        fks = {}
        for row in _rows(conn, "foreign_key_list", table):
            fks.setdefault(row[0], []).append(row[3])
        if len(fks) == 1:
            (columns,) = fks.values()
            error.constraint = _pg_name(table, columns, "fkey")
            error.message = 'insert or update on table "%s" violates foreign key constraint "%s"' % (
                table, error.constraint)
    elif error.sqlstate == "23514":
        match = _CHECK.match(message)
        if match and re.match(r"^\w+\Z", match.group(1)):
            error.constraint = match.group(1)
        if table and error.constraint:
            error.message = 'new row for relation "%s" violates check constraint "%s"' % (
                table, error.constraint)
    error.table = table
