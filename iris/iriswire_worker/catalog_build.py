"""A schema snapshot (``schema_reader.Snapshot``) as the rows of pg_class,
pg_attribute, pg_index, pg_constraint, pg_attrdef, pg_namespace,
pg_description and information_schema's tables, with the texts that
pg_get_indexdef, pg_get_constraintdef and pg_get_viewdef return.

OIDs. Several workers serve one database, each with its own catalog, and a
client may read an OID through one and use it through another, so an OID
must be the same in every worker and stay the same while its object exists.
It is therefore a hash of what names the object, never a counter:
``OID_FLOOR + blake2b(kind, schema, name...) mod OID_SPAN`` (kinds: ``n``
namespace, ``r`` relation, ``i`` index, ``c`` constraint, ``d`` default).
A collision is resolved by hashing again with a counter appended, keys taken
in sorted order, so every worker that sees the same objects assigns the same
OIDs. (Only if two keys collide and the first is dropped does the second's
OID change; with 2^31 values that needs thousands of objects to be likely
at all.) The floor lies above PostgreSQL's first user OID (16384) and the
fixed OIDs iriswire gives vector (16385, 16386) and its extension rows.

Constraint and index names the backend does not give are PostgreSQL's
defaults: ``t_pkey``, ``t_a_b_key``, ``t_x_fkey``, ``t_x_check`` (``t_check``
when a check reads several columns), with 1, 2... appended on a clash.
"""

import hashlib
import re

from .catalog_types import (
    DISPLAY_NAMES, PG_CATALOG_NAMESPACE, PUBLIC_NAMESPACE, builtin_type_rows, format_type,
    pg_type_of)

OID_FLOOR = 20000
OID_SPAN = (1 << 31) - OID_FLOOR
_NAME_BYTES = 63  # NAMEDATALEN - 1

_TYPES = {row[0]: row for row in builtin_type_rows()}


def stable_oid(key, attempt=0):
    """The OID a key hashes to (`attempt` > 0 after a collision)."""
    text = "\x1f".join(key) + ("\x1e%d" % attempt if attempt else "")
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return OID_FLOOR + int.from_bytes(digest, "big") % OID_SPAN


def assign_oids(keys):
    """{key: oid} for distinct keys, collisions resolved in sorted key order."""
    taken = set()
    oids = {}
    for key in sorted(set(keys)):
        attempt = 0
        oid = stable_oid(key)
        while oid in taken:
            attempt += 1
            oid = stable_oid(key, attempt)
        taken.add(oid)
        oids[key] = oid
    return oids


def _truncate(name):
    encoded = name.encode("utf-8")[:_NAME_BYTES]
    return encoded.decode("utf-8", "ignore")


def default_name(table, columns, suffix, taken):
    """PostgreSQL's ChooseConstraintName: table_col1_col2_suffix, numbered on a clash."""
    base = "_".join([table] + [c for c in columns if c] + [suffix])
    name, n = _truncate(base), 0
    while name in taken:
        n += 1
        name = _truncate(base[:_NAME_BYTES - len(str(n))] + str(n)) if len(base) + len(str(n)) > _NAME_BYTES \
            else base + str(n)
    taken.add(name)
    return name


def quote_ident(name):
    """An identifier as PostgreSQL prints it: quoted unless lower-case and plain."""
    if name is not None and re.match(r"[a-z_][a-z0-9_$]*\Z", name) and name.upper() not in _RESERVED:
        return name
    return '"%s"' % str(name).replace('"', '""')


_RESERVED = frozenset((
    "ALL", "ANALYSE", "ANALYZE", "AND", "ANY", "ARRAY", "AS", "ASC", "ASYMMETRIC", "BOTH", "CASE",
    "CAST", "CHECK", "COLLATE", "COLUMN", "CONSTRAINT", "CREATE", "CURRENT_CATALOG", "CURRENT_DATE",
    "CURRENT_ROLE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER", "DEFAULT", "DEFERRABLE",
    "DESC", "DISTINCT", "DO", "ELSE", "END", "EXCEPT", "FALSE", "FETCH", "FOR", "FOREIGN", "FROM",
    "GRANT", "GROUP", "HAVING", "IN", "INITIALLY", "INTERSECT", "INTO", "LATERAL", "LEADING",
    "LIMIT", "LOCALTIME", "LOCALTIMESTAMP", "NOT", "NULL", "OFFSET", "ON", "ONLY", "OR", "ORDER",
    "PLACING", "PRIMARY", "REFERENCES", "RETURNING", "SELECT", "SESSION_USER", "SOME", "SYMMETRIC",
    "TABLE", "THEN", "TO", "TRAILING", "TRUE", "UNION", "UNIQUE", "USER", "USING", "VARIADIC",
    "WHEN", "WHERE", "WINDOW", "WITH", "USER"))

_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _pg_array(values):
    return "{" + ",".join(str(v) for v in values) + "}"


def _default_text(default, type_oid):
    """A default as PostgreSQL prints it: string literals carry their type."""
    if default is None:
        return None
    text = str(default).strip()
    if text.startswith("'") and text.endswith("'"):
        shown = DISPLAY_NAMES.get(type_oid, "text")
        return "%s::%s" % (text, shown)
    if text.upper() == "CURRENT_TIMESTAMP" and type_oid == 1184:
        return "now()"
    return text


class Built:
    """Everything one snapshot becomes: rows per table, and texts by OID."""

    def __init__(self):
        self.rows = {}
        self.index_defs = {}  # index oid → (CREATE INDEX text, column names)
        self.constraint_defs = {}  # constraint oid → definition text
        self.view_defs = {}  # relation oid → SELECT text
        self.relations = {}  # oid → (schema, name)
        self.namespaces = {}  # name → oid

    def add(self, table, row):
        self.rows.setdefault(table, []).append(row)


def build(snapshot, database, owner=10):
    """The catalog rows for `snapshot`: a ``Built``."""
    built = Built()
    schemas = sorted(set(snapshot.schemas) | {r.schema for r in snapshot.relations})
    keys = [("n", s) for s in schemas if s != "public"]
    for rel in snapshot.relations:
        keys.append(("r", rel.schema, rel.name))
        keys.extend(_index_key(rel, index) for index in rel.indexes)
    oids = assign_oids(keys)
    # PostgreSQL also has pg_toast and information_schema; clients filter them out.
    built.namespaces = {"pg_catalog": PG_CATALOG_NAMESPACE, "public": PUBLIC_NAMESPACE}
    for schema in schemas:
        if schema != "public":
            built.namespaces[schema] = oids[("n", schema)]
    for name, oid in sorted(built.namespaces.items(), key=lambda item: item[1]):
        built.add("pg_namespace", (oid, name, owner if oid == PUBLIC_NAMESPACE else 10, None))
        built.add("schemata", (database, name, "postgres", None, None, None, None))
    by_name = {(r.schema, r.name): oids[("r", r.schema, r.name)] for r in snapshot.relations}
    attnums = {by_name[(r.schema, r.name)]: {c.name: n for n, c in enumerate(r.columns, 1)}
               for r in snapshot.relations}
    # PostgreSQL enforces foreign keys with triggers on both tables; psql
    # lists them (and "Referenced by") only for tables with triggers.
    triggered = {(fk.ref_schema, fk.ref_table) for r in snapshot.relations for fk in r.foreign_keys}
    triggered |= {(r.schema, r.name) for r in snapshot.relations if r.foreign_keys}
    constraint_keys = []
    for rel in snapshot.relations:
        _relation_rows(built, rel, by_name, oids, attnums, owner, database, constraint_keys,
                       (rel.schema, rel.name) in triggered)
    constraint_oids = assign_oids(k for k, _ in constraint_keys)
    for key, row in constraint_keys:
        row[0] = constraint_oids[key]
        built.constraint_defs[row[0]] = row.pop()
        built.add("pg_constraint", tuple(row))
    return built


def _index_key(rel, index):
    """What names an index for its OID: its table and, as the backend gives
    them, its name (None for a constraint's unnamed index) and columns."""
    return ("i", rel.schema, rel.name, index.name or "", ",".join(index.columns))


def _relation_rows(built, rel, by_name, oids, all_attnums, owner, database, constraint_keys,
                   has_triggers):
    oid = by_name[(rel.schema, rel.name)]
    namespace = built.namespaces[rel.schema]
    built.relations[oid] = (rel.schema, rel.name)
    qualified = "%s.%s" % (quote_ident(rel.schema), quote_ident(rel.name))
    attnums = all_attnums[oid]
    types = {}
    for attnum, column in enumerate(rel.columns, 1):
        type_oid, typmod = pg_type_of(column.declared, column.length, column.precision, column.scale)
        types[column.name] = (type_oid, typmod)
        type_row = _TYPES.get(type_oid)
        default = _default_text(column.default, type_oid)
        identity = "d" if column.identity else ""
        built.add("pg_attribute", (
            oid, column.name, type_oid, -1, type_row[4] if type_row else -1, attnum, 0, -1, typmod,
            type_row[5] if type_row else 0, type_row[22] if type_row else "i",
            type_row[23] if type_row else "x", "", int(column.not_null), int(default is not None),
            0, identity, "", 0, 1, 0, type_row[28] if type_row else 0, None, None, None, None))
        if default is not None:
            built.add("pg_attrdef", (stable_oid(("d", rel.schema, rel.name, column.name)), oid,
                                     attnum, default))
        built.add("columns", _information_column(database, rel, column, attnum, type_oid, typmod,
                                                 default))
    if rel.comment:
        built.add("pg_description", (oid, 1259, 0, rel.comment))
    if rel.kind == "v":
        built.view_defs[oid] = rel.definition or ""
        built.add("views", (database, rel.schema, rel.name, rel.definition, "NONE", "NO", "NO",
                            "NO", "NO", "NO"))
    built.add("pg_class", (
        oid, rel.name, namespace, 0, 0, owner, 2 if rel.kind == "r" else 0, 0, 0, 0, -1, 0, 0,
        int(bool(rel.indexes)), 0, "p", rel.kind, len(rel.columns), len(rel.checks), 0,
        int(has_triggers), 0, 0, 0, 1, "d", 0, 0, "0", "0", None, None, None))
    built.add("tables", (database, rel.schema, rel.name,
                         "VIEW" if rel.kind == "v" else "BASE TABLE", None, None, None, None, None,
                         "NO" if rel.kind == "v" else "YES", "NO", None))
    taken = {rel.name} | {i.name for i in rel.indexes if i.name}
    taken |= {fk.name for fk in rel.foreign_keys if fk.name} | {c.name for c in rel.checks if c.name}

    def constraint(kind, name, columns, definition, conindid=0, fk=None):
        conkey = _pg_array(attnums.get(c, 0) for c in columns) if columns else None
        ref = fk and by_name.get((fk.ref_schema, fk.ref_table))
        row = [0, name, namespace, kind, 0, 0, 1, oid, 0, conindid, 0, ref or 0,
               fk.on_update if fk else " ", fk.on_delete if fk else " ", "s" if fk else " ",
               1, 0, 0, conkey, None, None, None, None, None, None,
               definition if kind == "c" else None, definition]
        if fk and ref:
            target = all_attnums.get(ref)
            row[19] = _pg_array(target.get(c, 0) for c in fk.ref_columns) if target else None
        constraint_keys.append((("c", rel.schema, rel.name, name), row))
        kind_name = {"p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY", "c": "CHECK"}[kind]
        built.add("table_constraints", (database, rel.schema, name, database, rel.schema,
                                        rel.name, kind_name, "NO", "NO", "YES",
                                        "YES" if kind in "pu" else None))
        for position, column in enumerate(columns if kind != "c" else (), 1):
            built.add("key_column_usage", (database, rel.schema, name, database, rel.schema,
                                           rel.name, column, position,
                                           position if kind == "f" else None))
        return row

    for index in rel.indexes:
        index_oid = oids[_index_key(rel, index)]
        if index.name is None:
            suffix = "pkey" if index.primary else "key"
            index.name = default_name(rel.name, () if index.primary else index.columns, suffix, taken)
        _index_rows(built, rel, index, index_oid, oid, namespace, owner, attnums, types, qualified)
        if index.constraint:
            kind = "p" if index.primary else "u"
            cols = ", ".join(quote_ident(c) for c in index.columns)
            constraint(kind, index.name, index.columns,
                       "%s (%s)" % ("PRIMARY KEY" if index.primary else "UNIQUE", cols), index_oid)
    for fk in rel.foreign_keys:
        name = fk.name or default_name(rel.name, fk.columns, "fkey", taken)
        text = "FOREIGN KEY (%s) REFERENCES %s(%s)" % (
            ", ".join(quote_ident(c) for c in fk.columns),
            quote_ident(fk.ref_table) if fk.ref_schema == "public"
            else "%s.%s" % (quote_ident(fk.ref_schema), quote_ident(fk.ref_table)),
            ", ".join(quote_ident(c) for c in fk.ref_columns))
        if fk.on_update != "a":
            text += " ON UPDATE " + _ACTIONS[fk.on_update]
        if fk.on_delete != "a":
            text += " ON DELETE " + _ACTIONS[fk.on_delete]
        constraint("f", name, fk.columns, text, fk=fk)
        built.add("referential_constraints", (
            database, rel.schema, name, database, fk.ref_schema, None, "NONE",
            _ACTIONS[fk.on_update], _ACTIONS[fk.on_delete]))
    for check in rel.checks:
        words = {w for w in re.findall(r"[A-Za-z_]\w*", check.expression) if w in attnums}
        column = check.column or (next(iter(words)) if len(words) == 1 else None)
        name = check.name or default_name(rel.name, (column,) if column else (), "check", taken)
        constraint("c", name, sorted(words, key=attnums.get), "CHECK ((%s))" % check.expression)
        built.add("check_constraints", (database, rel.schema, name, "((%s))" % check.expression))


def _index_rows(built, rel, index, index_oid, table_oid, namespace, owner, attnums, types,
                qualified):
    keys = [attnums.get(c, 0) for c in index.columns]
    built.relations[index_oid] = (rel.schema, index.name)
    built.add("pg_class", (
        index_oid, index.name, namespace, 0, 0, owner, 403, 0, 0, 0, 0, 0, 0, 0, 0, "p", "i",
        len(keys), 0, 0, 0, 0, 0, 0, 1, "n", 0, 0, "0", "0", None, None, None))
    for position, column in enumerate(index.columns, 1):
        type_oid, typmod = types.get(column, (25, -1))
        type_row = _TYPES.get(type_oid)
        built.add("pg_attribute", (
            index_oid, column, type_oid, -1, type_row[4] if type_row else -1, position, 0, -1,
            typmod, type_row[5] if type_row else 0, "i", "p", "", 0, 0, 0, "", "", 0, 1, 0,
            type_row[28] if type_row else 0, None, None, None, None))
    descending = index.descending or (False,) * len(keys)
    built.add("pg_index", (
        index_oid, table_oid, len(keys), len(keys), int(index.unique), 0, int(index.primary), 0,
        1, 0, 1, 0, 1, 1, 0, " ".join(str(k) for k in keys),
        " ".join("100" if types.get(c, (0,))[0] in (25, 1043, 1042, 19) else "0"
                 for c in index.columns),
        " ".join("0" for _ in keys), " ".join("3" if d else "0" for d in descending), None, None))
    columns = ", ".join(quote_ident(c) + (" DESC" if d else "")
                        for c, d in zip(index.columns, descending))
    built.index_defs[index_oid] = (
        "CREATE %sINDEX %s ON %s USING btree (%s)" % (
            "UNIQUE " if index.unique else "", quote_ident(index.name), qualified, columns),
        tuple(quote_ident(c) for c in index.columns))


def _information_column(database, rel, column, attnum, type_oid, typmod, default):
    shown = DISPLAY_NAMES.get(type_oid, "text")
    type_row = _TYPES.get(type_oid)
    udt = type_row[1] if type_row else "text"
    data_type = "ARRAY" if shown.endswith("[]") else "USER-DEFINED" if type_oid >= 16384 else shown
    length = typmod - 4 if type_oid in (1042, 1043) and typmod > 0 else None
    precision = scale = radix = None
    if type_oid in (20, 21, 23):
        precision, radix, scale = {20: 64, 21: 16, 23: 32}[type_oid], 2, 0
    elif type_oid in (700, 701):
        precision, radix = {700: 24, 701: 53}[type_oid], 2
    elif type_oid == 1700:
        radix = 10
        if typmod > 0:
            precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
    return (database, rel.schema, rel.name, column.name, attnum, default,
            "NO" if column.not_null else "YES", data_type, length,
            length * 4 if length else (1073741824 if type_oid in (25, 1043, 1042) else None),
            precision, radix, scale, 6 if type_oid in (1083, 1114, 1184, 1266) else None,
            None, None, None, None, None, None, None, None, None, None, None,
            database, "pg_catalog" if type_oid < 16384 else "public", udt, None, None, None, None,
            str(attnum), "NO", "YES" if column.identity else "NO",
            "BY DEFAULT" if column.identity else None, None, None, None, None, "NO", "NEVER", None,
            "NO" if rel.kind == "v" else "YES")


def format_column_type(type_oid, typmod):
    return format_type(type_oid, typmod)
