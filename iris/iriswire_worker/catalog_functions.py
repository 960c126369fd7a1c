"""PostgreSQL's catalog functions as SQLite functions on the catalog's
connection: format_type, pg_get_* (index, constraint, view, expression
definitions), visibility and privilege checks, descriptions, session
functions, array functions over PostgreSQL's array text (``{a,b}``), and
the helpers ``catalog_sql`` rewrites casts and set-returning functions to
(``iriswire_regclass``, ``iriswire_array``, ...).

Privilege checks are always true: iriswire authenticates clients itself and
the backend checks access when a statement runs.
"""

import json
import re
import time

from .catalog_types import format_type, lookup_type
from .sqlite_errors import fail

_SIZE_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")


def pg_size_pretty(size):
    """PostgreSQL's pg_size_pretty: bytes below 10 kB, then halving units, rounded."""
    if size is None:
        return None
    size = int(size)
    unit = 0
    limit = 10 * 1024
    while abs(size) >= limit and unit < len(_SIZE_UNITS) - 1:
        size = (size + (1 if size >= 0 else -1) * 512) // 1024 if unit else size // 1024
        unit += 1
        limit = 20 * 1024 // 2
    return "%d %s" % (size, _SIZE_UNITS[unit])


def array_elements(value):
    """The elements of a PostgreSQL array given as text (``{a,"b c",NULL}``,
    int2vector's ``1 2``), a JSON array, or a list; [] for NULL."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)):
        return [value]
    text = str(value).strip()
    if text.startswith("["):
        return json.loads(text)
    if not text.startswith("{"):
        return [_number(v) for v in text.split()]
    elements, i, body = [], 0, text[1:-1]
    while i < len(body):
        if body[i] == '"':
            j, chars = i + 1, []
            while j < len(body) and body[j] != '"':
                if body[j] == "\\":
                    j += 1
                chars.append(body[j])
                j += 1
            elements.append("".join(chars))
            i = j + 2
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            item = body[i:j].strip()
            elements.append(None if item == "NULL" else _number(item))
            i = j + 1
    return elements


def _number(text):
    return int(text) if re.match(r"-?\d+\Z", text) else text


def array_text(values, boolean=False):
    """A list as PostgreSQL prints an array: ``{1,2}``, ``{"a b",NULL}``
    (with `boolean`, 1/0 as t/f)."""
    if boolean:
        values = [None if v is None else "t" if v else "f" for v in values]
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
            continue
        text = str(int(value) if isinstance(value, bool) else value)
        if text == "" or re.search(r'[{},"\\\s]', text) or text.upper() == "NULL":
            text = '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(text)
    return "{" + ",".join(parts) + "}"


class _ArrayAgg:
    def __init__(self):
        self.values = []

    def step(self, value):
        self.values.append(value)

    def finalize(self):
        return array_text(self.values) if self.values else None


class _OrderedAgg:
    """array_agg/string_agg with ORDER BY: (value, [separator,] descending, key...)."""

    separated = False

    def __init__(self):
        self.items = []
        self.separator = ","
        self.descending = False

    def step(self, value, *rest):
        if self.separated:
            self.separator, rest = rest[0], rest[1:]
        self.descending = bool(rest[0])
        self.items.append((tuple((k is None, k) for k in rest[1:]), value))

    def _ordered(self):
        return [value for _, value in sorted(self.items, key=lambda item: item[0],
                                             reverse=self.descending)]

    def finalize(self):
        return array_text(self._ordered()) if self.items else None


class _OrderedStringAgg(_OrderedAgg):
    separated = True

    def finalize(self):
        values = [str(v) for v in self._ordered() if v is not None]
        return self.separator.join(values) if values else None


class _BoolAnd:
    def __init__(self):
        self.result = None

    def step(self, value):
        if value is not None:
            self.result = bool(value) if self.result is None else self.result and bool(value)

    def finalize(self):
        return None if self.result is None else int(self.result)


class _BoolOr(_BoolAnd):
    def step(self, value):
        if value is not None:
            self.result = bool(value) if self.result is None else self.result or bool(value)


def _regexp(pattern, text):
    """SQLite's REGEXP operator (`text REGEXP pattern`), which ~ becomes."""
    if pattern is None or text is None:
        return None
    try:
        return 1 if re.search(str(pattern), str(text)) else 0
    except re.error as exc:
        fail("2201B", "invalid regular expression: %s" % exc)


def _quote_ident(name):
    from .catalog_build import quote_ident
    return None if name is None else quote_ident(str(name))


def _format(fmt, *args):
    """PostgreSQL's format(): %s, %I (identifier), %L (literal), %%."""
    if fmt is None:
        return None
    values = iter(args)

    def replace(match):
        kind = match.group(1)
        if kind == "%":
            return "%"
        value = next(values, None)
        if kind == "I":
            return _quote_ident(value)
        if kind == "L":
            return "NULL" if value is None else "'%s'" % str(value).replace("'", "''")
        return "" if value is None else str(value)

    return re.sub(r"%([sIL%])", replace, fmt)


def _split_part(text, delimiter, n):
    if text is None or delimiter is None or n is None:
        return None
    parts = str(text).split(str(delimiter)) if delimiter else [str(text)]
    n = int(n)
    if n < 0:
        n = len(parts) + n + 1
    return parts[n - 1] if 1 <= n <= len(parts) else ""


def _regexp_replace(text, pattern, replacement, flags=""):
    """regexp_replace(): the first match, or every one with flag g (\\1 back-references as in Python)."""
    if text is None or pattern is None or replacement is None:
        return None
    ignore_case = re.IGNORECASE if "i" in (flags or "") else 0
    return re.sub(pattern, replacement, str(text), count=0 if "g" in (flags or "") else 1,
                  flags=ignore_case)


def _series(start, stop, step=1):
    """generate_series(start, stop[, step]) as a JSON array, for json_each."""
    if start is None or stop is None:
        return "[]"
    return json.dumps(list(range(int(start), int(stop) + (1 if step > 0 else -1), int(step))))


def _array_get(array, index):
    """array[index]: PostgreSQL's arrays start at 1, int2vector and oidvector at 0."""
    if array is None or index is None:
        return None
    elements = array_elements(array)
    base = 0 if not str(array).lstrip().startswith(("{", "[")) else 1
    position = int(index) - base
    return elements[position] if 0 <= position < len(elements) else None


def _array_length(array, dimension=1):
    elements = array_elements(array)
    return len(elements) if elements and dimension == 1 else None


def _array_to_string(array, separator, null=None):
    if array is None or separator is None:
        return None
    items = [null if e is None else e for e in array_elements(array)]
    return str(separator).join(str(e) for e in items if e is not None)


def _array_position(array, value):
    elements = array_elements(array)
    for position, element in enumerate(elements, 1):
        if element == value or str(element) == str(value):
            return position
    return None


def _string_to_array(text, separator, null=None):
    if text is None:
        return None
    parts = str(text).split(separator) if separator else list(str(text))
    return array_text(None if p == null else p for p in parts)


def register(conn, state):
    """Registers the functions on `conn`; `state` is the ``Catalog`` they read
    (its ``built`` rows, ``session`` names and ``settings``)."""

    def built():
        return state.built

    def relation_name(oid):
        if oid is None:
            return None
        if not isinstance(oid, int):  # a name: text cast to regclass
            oid = regclass(oid)
        found = built().relations.get(oid)
        if found is None:
            return str(oid)
        schema, name = found
        from .catalog_build import quote_ident
        return quote_ident(name) if schema in ("public", "pg_catalog") else "%s.%s" % (
            quote_ident(schema), quote_ident(name))

    def regclass(name, strict=True):
        if name is None:
            return None
        text = str(name).strip()
        if re.match(r"\d+\Z", text):
            return int(text)
        parts = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
                 for p in re.findall(r'"(?:[^"]|"")*"|[^.]+', text)]
        schema, relname = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
        for oid, (rel_schema, rel_name) in built().relations.items():
            if rel_name == relname and (schema is None and rel_schema in ("public", "pg_catalog")
                                        or rel_schema == schema):
                return oid
        if strict:
            fail("42P01", 'relation "%s" does not exist' % text)
        return None

    def regtype(name, strict=True):
        oid = lookup_type(name)
        if oid is None and name is not None and strict:
            fail("42704", 'type "%s" does not exist' % name)
        return oid

    def described(objoid, classoid=None, objsubid=0):
        if objoid is None:
            return None
        return state.description(int(objoid), classoid, objsubid)

    def index_def(oid, column=0, pretty=None):
        found = built().index_defs.get(int(oid)) if oid is not None else None
        if found is None:
            return None
        text, columns = found
        if column:
            return columns[int(column) - 1] if 0 < int(column) <= len(columns) else ""
        return text

    session = state.session
    functions = [
        ("format_type", 2, format_type),
        ("pg_get_expr", 2, lambda expr, relid: None if expr is None else str(expr)),
        ("pg_get_expr", 3, lambda expr, relid, pretty: None if expr is None else str(expr)),
        ("pg_get_indexdef", 1, index_def),
        ("pg_get_indexdef", 3, index_def),
        ("pg_get_constraintdef", 1, lambda oid: built().constraint_defs.get(oid)),
        ("pg_get_constraintdef", 2, lambda oid, pretty: built().constraint_defs.get(oid)),
        ("pg_get_viewdef", 1, lambda oid: built().view_defs.get(regclass(oid, False))),
        ("pg_get_viewdef", 2, lambda oid, pretty: built().view_defs.get(regclass(oid, False))),
        ("pg_get_userbyid", 1, lambda oid: session["user"] if oid == 10 else "unknown (OID=%s)" % oid),
        ("pg_get_triggerdef", -1, lambda *args: None),
        ("pg_get_ruledef", -1, lambda *args: None),
        ("pg_get_partkeydef", 1, lambda oid: None),
        ("pg_get_serial_sequence", 2, lambda table, column: None),
        ("pg_get_statisticsobjdef_columns", 1, lambda oid: None),
        ("pg_get_function_result", 1, state.function_result),
        ("pg_get_function_arguments", 1, state.function_arguments),
        ("pg_get_function_identity_arguments", 1, state.function_arguments),
        ("pg_table_is_visible", 1,
         lambda oid: int(built().relations.get(oid, ("public",))[0] in ("public", "pg_catalog"))),
        ("obj_description", 1, described),
        ("obj_description", 2, lambda oid, catalog: described(oid, catalog)),
        ("col_description", 2, lambda relid, attnum: described(relid, "pg_class", attnum)),
        ("shobj_description", 2, lambda oid, catalog: described(oid, catalog)),
        ("pg_encoding_to_char", 1, lambda n: "UTF8" if n == 6 else "SQL_ASCII" if n == 0 else ""),
        ("pg_char_to_encoding", 1, lambda name: 6),
        ("current_schemas", 1, lambda implicit: "{pg_catalog,public}" if implicit else "{public}"),
        ("current_schema", 0, lambda: "public"),
        ("current_database", 0, lambda: session["database"]),
        ("current_user", 0, lambda: session["user"]),
        ("session_user", 0, lambda: session["user"]),
        ("current_catalog", 0, lambda: session["database"]),
        ("version", 0, lambda: session["version"]),
        ("pg_backend_pid", 0, state.backend_pid),
        ("pg_postmaster_start_time", 0, lambda: state.started),
        ("now", 0, lambda: time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())),
        ("current_setting", 1, lambda name: state.setting(name, False)),
        ("current_setting", 2, lambda name, missing_ok: state.setting(name, missing_ok)),
        ("pg_relation_size", 1, lambda oid: 0),
        ("pg_relation_size", 2, lambda oid, fork: 0),
        ("pg_total_relation_size", 1, lambda oid: 0),
        ("pg_table_size", 1, lambda oid: 0),
        ("pg_indexes_size", 1, lambda oid: 0),
        ("pg_database_size", 1, lambda db: 0),
        ("pg_tablespace_size", 1, lambda db: 0),
        ("pg_size_pretty", 1, pg_size_pretty),
        ("pg_tablespace_location", 1, lambda oid: ""),
        ("pg_is_other_temp_schema", 1, lambda oid: 0),
        ("pg_relation_is_publishable", 1, lambda oid: 0),
        # A set-returning function; with no partitions, a relation is its only ancestor.
        ("pg_partition_ancestors", 1, lambda oid: None if oid is None else int(oid)),
        ("pg_partition_root", 1, lambda oid: None if oid is None else int(oid)),
        ("pg_get_publication_tables", -1, lambda *args: None),
        ("pg_my_temp_schema", 0, lambda: 0),
        ("pg_is_in_recovery", 0, lambda: 0),
        ("txid_current", 0, lambda: 1),
        ("inet_server_addr", 0, lambda: None),
        ("inet_server_port", 0, lambda: None),
        ("quote_ident", 1, _quote_ident),
        ("quote_literal", 1, lambda v: None if v is None else "'%s'" % str(v).replace("'", "''")),
        ("format", -1, _format),
        ("regexp", 2, _regexp),
        ("left", 2, lambda s, n: None if s is None else str(s)[:n] if n >= 0 else str(s)[:n]),
        ("right", 2, lambda s, n: None if s is None else str(s)[-n:] if n > 0 else str(s)[-n:] if n else ""),
        ("concat", -1, lambda *args: "".join(str(a) for a in args if a is not None)),
        ("split_part", 3, _split_part),
        ("btrim", 1, lambda s: None if s is None else str(s).strip(" ")),
        ("btrim", 2, lambda s, chars: None if s is None else str(s).strip(chars)),
        ("regexp_replace", 3, _regexp_replace),
        ("regexp_replace", 4, _regexp_replace),
        ("to_regclass", 1, lambda name: regclass(name, False)),
        ("to_regtype", 1, lambda name: regtype(name, False)),
        ("iriswire_regclass", 1, regclass),
        ("iriswire_regclass_name", 1, relation_name),
        ("iriswire_regtype", 1, regtype),
        ("iriswire_regtype_oid", 1, regtype),
        ("iriswire_regtype_name", 1, lambda oid: None if oid is None else format_type(oid, None)),
        ("iriswire_regproc_name", 1, state.function_name),
        ("iriswire_regnamespace_name", 1, state.namespace_name),
        ("iriswire_regrole_name", 1, lambda oid: session["user"] if oid == 10 else str(oid)),
        ("iriswire_array", 1, lambda value: json.dumps(array_elements(value))),
        ("iriswire_array_of", -1, lambda *values: array_text(values)),
        ("iriswire_array_get", 2, _array_get),
        ("iriswire_first", -1, lambda first, *rest: first),
        ("iriswire_series", 2, _series),
        ("iriswire_series", 3, _series),
        ("array_to_string", 2, _array_to_string),
        ("array_to_string", 3, _array_to_string),
        ("array_length", 2, _array_length),
        ("array_upper", 2, _array_length),
        ("array_lower", 2, lambda array, dim: 1 if array_elements(array) else None),
        ("cardinality", 1, lambda array: len(array_elements(array)) if array is not None else None),
        ("array_position", 2, _array_position),
        ("string_to_array", 2, _string_to_array),
        ("string_to_array", 3, _string_to_array),
    ]
    for name in ("has_table_privilege", "has_schema_privilege", "has_database_privilege",
                 "has_column_privilege", "has_any_column_privilege", "has_function_privilege",
                 "has_sequence_privilege", "has_type_privilege", "has_language_privilege",
                 "has_tablespace_privilege", "has_foreign_data_wrapper_privilege",
                 "has_server_privilege", "pg_has_role"):
        functions.append((name, -1, lambda *args: 1))
    for name in ("pg_type_is_visible", "pg_function_is_visible", "pg_operator_is_visible",
                 "pg_opclass_is_visible", "pg_opfamily_is_visible", "pg_collation_is_visible",
                 "pg_conversion_is_visible", "pg_ts_parser_is_visible", "pg_ts_dict_is_visible",
                 "pg_ts_template_is_visible", "pg_ts_config_is_visible", "pg_statistics_obj_is_visible"):
        functions.append((name, 1, lambda oid: 1))
    for name, arity, function in functions:
        conn.create_function(name, arity, function)
    conn.create_aggregate("array_agg", 1, _ArrayAgg)
    conn.create_aggregate("iriswire_array_agg_ordered", -1, _OrderedAgg)
    conn.create_aggregate("iriswire_string_agg_ordered", -1, _OrderedStringAgg)
    conn.create_aggregate("bool_and", 1, _BoolAnd)
    conn.create_aggregate("every", 1, _BoolAnd)
    conn.create_aggregate("bool_or", 1, _BoolOr)
    return [(name, arity) for name, arity, _ in functions]
