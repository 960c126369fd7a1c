"""PostgreSQL's types as the catalog shows them: pg_type's built-in rows,
their display names (``format_type``), and a backend column's declared type
mapped to a PostgreSQL type and typmod.

The OIDs, lengths and categories are PostgreSQL 16's (pg_type.dat); they
never change between releases, and drivers hard-code many of them.
pgvector's ``vector`` is a user type in PostgreSQL, so its OID is not fixed
there; iriswire gives it 16385 (array 16386), as the front end does.
"""

import re

PG_CATALOG_NAMESPACE = 11
PUBLIC_NAMESPACE = 2200
VECTOR_OID = 16385
VECTOR_ARRAY_OID = 16386

# (oid, name, typlen, typbyval, category, array oid, display name). Base types
# ('b'); typdelim is ',' except for box.
_BASE_TYPES = (
    (16, "bool", 1, True, "B", 1000, "boolean"),
    (17, "bytea", -1, False, "U", 1001, "bytea"),
    (18, "char", 1, True, "Z", 1002, '"char"'),
    (19, "name", 64, False, "S", 1003, "name"),
    (20, "int8", 8, True, "N", 1016, "bigint"),
    (21, "int2", 2, True, "N", 1005, "smallint"),
    (22, "int2vector", -1, False, "A", 1006, "int2vector"),
    (23, "int4", 4, True, "N", 1007, "integer"),
    (24, "regproc", 4, True, "N", 1008, "regproc"),
    (25, "text", -1, False, "S", 1009, "text"),
    (26, "oid", 4, True, "N", 1028, "oid"),
    (27, "tid", 6, False, "U", 1010, "tid"),
    (28, "xid", 4, True, "U", 1011, "xid"),
    (29, "cid", 4, True, "U", 1012, "cid"),
    (30, "oidvector", -1, False, "A", 1013, "oidvector"),
    (114, "json", -1, False, "U", 199, "json"),
    (142, "xml", -1, False, "U", 143, "xml"),
    (194, "pg_node_tree", -1, False, "Z", 0, "pg_node_tree"),
    (600, "point", 16, False, "G", 1017, "point"),
    (601, "lseg", 32, False, "G", 1018, "lseg"),
    (602, "path", -1, False, "G", 1019, "path"),
    (603, "box", 32, False, "G", 1020, "box"),
    (604, "polygon", -1, False, "G", 1027, "polygon"),
    (628, "line", 24, False, "G", 629, "line"),
    (650, "cidr", -1, False, "I", 651, "cidr"),
    (700, "float4", 4, True, "N", 1021, "real"),
    (701, "float8", 8, True, "N", 1022, "double precision"),
    (718, "circle", 24, False, "G", 719, "circle"),
    (774, "macaddr8", 8, False, "U", 775, "macaddr8"),
    (790, "money", 8, True, "N", 791, "money"),
    (829, "macaddr", 6, False, "U", 1040, "macaddr"),
    (869, "inet", -1, False, "I", 1041, "inet"),
    (1033, "aclitem", 12, False, "U", 1034, "aclitem"),
    (1042, "bpchar", -1, False, "S", 1014, "character"),
    (1043, "varchar", -1, False, "S", 1015, "character varying"),
    (1082, "date", 4, True, "D", 1182, "date"),
    (1083, "time", 8, True, "D", 1183, "time without time zone"),
    (1114, "timestamp", 8, True, "D", 1115, "timestamp without time zone"),
    (1184, "timestamptz", 8, True, "D", 1185, "timestamp with time zone"),
    (1186, "interval", 16, False, "T", 1187, "interval"),
    (1266, "timetz", 12, False, "D", 1270, "time with time zone"),
    (1560, "bit", -1, False, "V", 1561, "bit"),
    (1562, "varbit", -1, False, "V", 1563, "bit varying"),
    (1700, "numeric", -1, False, "N", 1231, "numeric"),
    (1790, "refcursor", -1, False, "U", 2201, "refcursor"),
    (2202, "regprocedure", 4, True, "N", 2207, "regprocedure"),
    (2203, "regoper", 4, True, "N", 2208, "regoper"),
    (2204, "regoperator", 4, True, "N", 2209, "regoperator"),
    (2205, "regclass", 4, True, "N", 2210, "regclass"),
    (2206, "regtype", 4, True, "N", 2211, "regtype"),
    (2950, "uuid", 16, False, "U", 2951, "uuid"),
    (3220, "pg_lsn", 8, True, "U", 3221, "pg_lsn"),
    (3614, "tsvector", -1, False, "U", 3643, "tsvector"),
    (3615, "tsquery", -1, False, "U", 3645, "tsquery"),
    (3734, "regconfig", 4, True, "N", 3735, "regconfig"),
    (3769, "regdictionary", 4, True, "N", 3770, "regdictionary"),
    (3802, "jsonb", -1, False, "U", 3807, "jsonb"),
    (4072, "jsonpath", -1, False, "U", 4073, "jsonpath"),
    (4089, "regnamespace", 4, True, "N", 4090, "regnamespace"),
    (4096, "regrole", 4, True, "N", 4097, "regrole"),
    (4191, "regcollation", 4, True, "N", 4192, "regcollation"),
    (5069, "xid8", 8, True, "U", 271, "xid8"),
    (VECTOR_OID, "vector", -1, False, "U", VECTOR_ARRAY_OID, "vector"),
)

# (oid, name, subtype oid, array oid): the built-in range types ('r').
_RANGE_TYPES = (
    (3904, "int4range", 23, 3905), (3906, "numrange", 1700, 3907),
    (3908, "tsrange", 1114, 3909), (3910, "tstzrange", 1184, 3911),
    (3912, "daterange", 1082, 3913), (3926, "int8range", 20, 3927),
)

# (oid, name, typlen): pseudo-types ('p'), which functions take and return.
_PSEUDO_TYPES = (
    (32, "pg_ddl_command", 8), (705, "unknown", -2), (2249, "record", -1),
    (2275, "cstring", -2), (2276, "any", 4), (2277, "anyarray", -1), (2278, "void", 4),
    (2279, "trigger", 4), (2280, "language_handler", 4), (2281, "internal", 8),
    (2283, "anyelement", 4), (2776, "anynonarray", 4), (3500, "anyenum", 4),
    (3115, "fdw_handler", 4), (325, "index_am_handler", 4), (3310, "tsm_handler", 4),
    (269, "table_am_handler", 4), (3831, "anyrange", -1), (3838, "event_trigger", 4),
    (5077, "anycompatible", 4), (5078, "anycompatiblearray", -1),
    (5079, "anycompatiblenonarray", 4), (5080, "anycompatiblerange", -1),
    (4537, "anymultirange", -1), (4538, "anycompatiblemultirange", -1),
)

PG_TYPE_COLUMNS = (
    "oid", "typname", "typnamespace", "typowner", "typlen", "typbyval", "typtype",
    "typcategory", "typispreferred", "typisdefined", "typdelim", "typrelid", "typsubscript",
    "typelem", "typarray", "typinput", "typoutput", "typreceive", "typsend", "typmodin",
    "typmodout", "typanalyze", "typalign", "typstorage", "typnotnull", "typbasetype",
    "typtypmod", "typndims", "typcollation", "typdefaultbin", "typdefault", "typacl")

# typcollation: the collatable types carry the default collation (100).
_COLLATABLE = frozenset(("text", "varchar", "bpchar", "name"))
_PREFERRED = frozenset(("bool", "text", "oid", "float8", "inet", "timestamptz", "interval", "varbit"))


def _type_row(oid, name, typlen, byval, typtype, category, elem, array, namespace):
    io = name if typtype != "b" or category != "A" or elem == 0 else "array"
    align = "d" if typlen == 8 else "c" if typlen == 1 else "s" if typlen == 2 else "i"
    collation = 100 if name in _COLLATABLE else 950 if name == "name" else 0
    return (oid, name, namespace, 10, typlen, int(byval), typtype, category,
            int(name in _PREFERRED), 1, ";" if name == "box" else ",", 0,
            "array_subscript_handler" if elem else "-", elem, array,
            io + "_in", io + "_out", io + "_recv", io + "_send", "-", "-", "-", align,
            "p" if typlen > 0 else "x", 0, 0, -1, 0, collation, None, None, None)


def builtin_type_rows():
    """pg_type's rows: the built-in types, their arrays, ranges, pseudo-types, vector."""
    rows = []
    for oid, name, typlen, byval, category, array, _ in _BASE_TYPES:
        namespace = PUBLIC_NAMESPACE if oid == VECTOR_OID else PG_CATALOG_NAMESPACE
        elem = {"int2vector": 21, "oidvector": 26, "name": 18, "point": 701}.get(name, 0)
        rows.append(_type_row(oid, name, typlen, byval, "b", category, elem, array, namespace))
        if array:
            rows.append(_type_row(array, "_" + name, -1, False, "b", "A", oid, 0, namespace))
    for oid, name, subtype, array in _RANGE_TYPES:
        rows.append(_type_row(oid, name, -1, False, "r", "R", 0, array, PG_CATALOG_NAMESPACE))
        rows.append(_type_row(array, "_" + name, -1, False, "b", "A", oid, 0, PG_CATALOG_NAMESPACE))
    for oid, name, typlen in _PSEUDO_TYPES:
        rows.append(_type_row(oid, name, typlen, typlen in (4, 8), "p", "P", 0, 0, PG_CATALOG_NAMESPACE))
    rows.append(_type_row(2287, "_record", -1, False, "p", "P", 2249, 0, PG_CATALOG_NAMESPACE))
    return rows


def range_rows():
    """pg_range's rows: (rngtypid, rngsubtype, rngmultitypid, rngcollation, rngsubopc, ...)."""
    return [(oid, subtype, 0, 0, 0, "-", "-") for oid, _, subtype, _ in _RANGE_TYPES]


# Display names (format_type, ::regtype) by OID, arrays as element[].
DISPLAY_NAMES = {oid: shown for oid, _, _, _, _, _, shown in _BASE_TYPES}
DISPLAY_NAMES.update({array: shown + "[]" for _, _, _, _, _, array, shown in _BASE_TYPES if array})
for _oid, _name, _, _array in _RANGE_TYPES:
    DISPLAY_NAMES[_oid], DISPLAY_NAMES[_array] = _name, _name + "[]"
for _oid, _name, _ in _PSEUDO_TYPES:
    DISPLAY_NAMES[_oid] = _name
DISPLAY_NAMES[2287] = "record[]"

# Every name a type is known by (typname, display name, SQL spellings) → OID.
TYPE_OIDS = {}
for _row in builtin_type_rows():
    TYPE_OIDS[_row[1]] = _row[0]
for _oid, _shown in DISPLAY_NAMES.items():
    TYPE_OIDS.setdefault(_shown, _oid)
TYPE_OIDS.update({
    "int": 23, "integer": 23, "smallint": 21, "bigint": 20, "real": 700, "float": 701,
    "double precision": 701, "boolean": 16, "decimal": 1700, "character": 1042, "char": 1042,
    "character varying": 1043, "timestamp without time zone": 1114,
    "timestamp with time zone": 1184, "time without time zone": 1083,
    "time with time zone": 1266, "bit varying": 1562, '"char"': 18,
    "serial": 23, "bigserial": 20, "smallserial": 21,
})


def lookup_type(name):
    """The OID of a type written as PostgreSQL accepts it (`integer`, `pg_catalog.int4`,
    `public.vector`, `character varying(20)`, `text[]`), or None."""
    if name is None:
        return None
    text = re.sub(r"\s+", " ", str(name).strip().lower())
    array = text.endswith("[]")
    if array:
        text = text[:-2].strip()
    text = re.sub(r"\s*\([^)]*\)", "", text)  # typmods
    for prefix in ("pg_catalog.", "public."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.startswith('"') and text.endswith('"') and text != '"char"':
        text = text[1:-1]
    oid = TYPE_OIDS.get(text)
    if oid is None or not array:
        return oid
    return next((r[14] for r in builtin_type_rows() if r[0] == oid and r[14]), None)


def format_type(oid, typmod=None):
    """PostgreSQL's format_type(oid, typmod): `character varying(20)`, `numeric(10,2)`."""
    if oid is None:
        return None
    oid = int(oid)
    shown = DISPLAY_NAMES.get(oid)
    if shown is None:
        return "???"
    if typmod is None or int(typmod) < 0:
        return shown
    typmod = int(typmod)
    base, array = (shown[:-2], "[]") if shown.endswith("[]") else (shown, "")
    if base in ("character varying", "character", "bit", "bit varying"):
        return "%s(%d)%s" % (base, typmod - 4 if base.startswith("character") else typmod, array)
    if base == "numeric":
        typmod -= 4
        return "numeric(%d,%d)%s" % (typmod >> 16, typmod & 0xFFFF, array)
    if base == "vector":
        return "vector(%d)%s" % (typmod, array)
    for prefix in ("timestamp", "time"):
        if base.startswith(prefix + " "):
            return "%s(%d)%s%s" % (prefix, typmod, base[len(prefix):], array)
    return shown


_DECLARED = re.compile(r"\s*([A-Za-z_][\w ]*?)\s*(?:\(\s*([^)]*)\))?\s*(\[\])?\s*\Z")

# A backend's type name → PostgreSQL type: SQLite's declared types are what
# the client wrote (after iriswire's translation), IRIS's are its own names.
_BACKEND_TYPES = {
    "int": "int4", "integer": "int4", "int4": "int4", "mediumint": "int4", "serial": "int4",
    "smallint": "int2", "int2": "int2", "tinyint": "int2", "smallserial": "int2",
    "bigint": "int8", "int8": "int8", "bigserial": "int8",
    "real": "float4", "float4": "float4", "double": "float8", "double precision": "float8",
    "float": "float8", "float8": "float8", "numeric": "numeric", "decimal": "numeric",
    "money": "numeric", "boolean": "bool", "bool": "bool", "bit": "bool",
    "text": "text", "clob": "text", "longvarchar": "text", "string": "text",
    "varchar": "varchar", "character varying": "varchar", "nvarchar": "varchar",
    "char": "bpchar", "character": "bpchar", "bpchar": "bpchar", "nchar": "bpchar",
    "name": "name", "bytea": "bytea", "blob": "bytea", "binary": "bytea",
    "varbinary": "bytea", "longvarbinary": "bytea", "date": "date",
    "time": "time", "time without time zone": "time", "timetz": "timetz",
    "time with time zone": "timetz", "timestamp": "timestamp", "datetime": "timestamp",
    "timestamp without time zone": "timestamp", "posixtime": "timestamp",
    "timestamptz": "timestamptz", "timestamp with time zone": "timestamptz",
    "interval": "interval", "json": "json", "jsonb": "jsonb", "uuid": "uuid",
    "uniqueidentifier": "uuid", "guid": "uuid", "oid": "oid", "vector": "vector",
    "inet": "inet", "cidr": "cidr", "xml": "xml",
}
# IRIS stores PostgreSQL's unbounded text and bytea as 65535-long VARCHAR and
# VARBINARY (iriswire's DDL translation), so that length shows as text/bytea.
UNBOUNDED_LENGTH = 65535


def pg_type_of(declared, length=None, precision=None, scale=None):
    """``(type oid, typmod)`` for a backend column's type: a declared type
    such as ``NUMERIC(10,2)`` or ``vector(3)``, or IRIS's DATA_TYPE with its
    length, precision and scale. Unknown or empty types are text."""
    match = _DECLARED.match(declared or "")
    if not match:
        return 25, -1
    name = re.sub(r"\s+", " ", match.group(1).lower())
    args = [a.strip() for a in (match.group(2) or "").split(",") if a.strip()]
    base = _BACKEND_TYPES.get(name)
    if base is None:
        base = _BACKEND_TYPES.get(name.split(" ")[0], "text")
    if name == "vector" and args and not args[-1].isdigit():
        args = []  # IRIS: VECTOR(FLOAT) without a length
    numbers = [int(a) for a in args if a.isdigit()]
    if not numbers:
        numbers = [n for n in (length if base in ("varchar", "bpchar", "bytea") else precision,
                               scale if base == "numeric" else None) if n not in (None, "")]
        numbers = [int(n) for n in numbers]
    if base in ("varchar", "bytea") and numbers and numbers[0] >= UNBOUNDED_LENGTH:
        base, numbers = ("text" if base == "varchar" else "bytea"), []
    oid = TYPE_OIDS[base]
    typmod = -1
    if numbers:
        if base in ("varchar", "bpchar"):
            typmod = numbers[0] + 4
        elif base == "numeric":
            typmod = ((numbers[0] << 16) | (numbers[1] if len(numbers) > 1 else 0)) + 4
        elif base in ("vector", "timestamp", "timestamptz", "time", "timetz"):
            typmod = numbers[-1]
    if match.group(3):
        oid = next(r[14] for r in builtin_type_rows() if r[0] == oid)
    return oid, typmod


def type_length(oid):
    """pg_type.typlen of a type OID (-1 when unknown)."""
    return _TYPLEN.get(oid, -1)


_TYPLEN = {row[0]: row[4] for row in builtin_type_rows()}
_TYPBYVAL = {row[0]: row[5] for row in builtin_type_rows()}


def type_byval(oid):
    return _TYPBYVAL.get(oid, 0)
