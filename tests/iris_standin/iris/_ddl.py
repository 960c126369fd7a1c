"""IRIS DDL, checked against IRIS's grammar and rewritten for SQLite.

CREATE TABLE (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_createtable):
column types must be IRIS DDL types (_types.py); string columns collate
SQLUPPER unless declared %EXACT (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=GSQL_collation);
a string type's length is its MAXLEN, enforced on write; IDENTITY columns are
system-generated and refuse explicit values unless the table has
%CLASSPARAMETER ALLOWIDENTITYINSERT=1
(https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_createtable_idfield);
SERIAL / AUTO_INCREMENT columns take a value or count
(https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_insert_data_counters).

What SQLite cannot hold in its schema (which column is IDENTITY, whether the
table allows inserting it) goes into the stand-in's own table _standin_identity.
"""

from . import _settings
from ._errors import found, syntax_error
from ._lexer import at, closing, identifier_name, is_word
from ._reserved import RESERVED_WORDS
from ._types import CLASS_TYPES, IRIS_DDL_TYPES, TYPE_NAMES_BY_LENGTH, VECTOR_ELEMENT_TYPES

IDENTITY_TABLE = "_standin_identity"
_CONSTRAINT_WORDS = frozenset((
    "IDENTITY", "AUTO_INCREMENT", "COLLATE", "UNIQUE", "NULL", "NOT", "PRIMARY", "DEFAULT", "ON",
    "COMPUTECODE", "%DESCRIPTION", "REFERENCES", "CHECK", "CONSTRAINT", "CALCULATED", "TRANSIENT"))
_COLLATIONS = {"%EXACT": None, "EXACT": None, "%SQLUPPER": "SQLUPPER", "SQLUPPER": "SQLUPPER",
               "%SQLSTRING": "SQLSTRING", "SQLSTRING": "SQLSTRING", "%TRUNCATE": None, "%MVR": None,
               "%PLUS": None, "%MINUS": None, "%SPACE": None, "%STRING": "SQLSTRING", "%UPPER": "SQLUPPER"}
_SPECIAL = frozenset(("IDENTITY", "AUTO_INCREMENT", "COLLATE", "%DESCRIPTION")) | frozenset(_COLLATIONS)
_TABLE_ELEMENTS = frozenset(("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"))
_DROPPED_ELEMENTS = frozenset(("%DESCRIPTION", "%FILE", "%EXTENTSIZE", "%NUMROWS", "%PUBLICROWID", "%ROUTINE", "SHARD"))


class Translated:
    """SQLite statements for one IRIS DDL statement, and the stand-in's bookkeeping."""

    def __init__(self, sql, after=(), identity=None):
        self.sql = sql
        self.after = list(after)
        self.identity = identity  # (table, column, allow_insert) or None


def _split(tokens, start, end):
    """Top-level comma-separated slices of tokens[start:end] as (from, to) pairs."""
    depth = tokens[start].depth if start < end else 0
    parts, begin = [], start
    for index in range(start, end):
        if tokens[index].text == "," and tokens[index].depth == depth:
            parts.append((begin, index))
            begin = index + 1
    parts.append((begin, end))
    return [(a, b) for a, b in parts if a < b]


def _text(sql, tokens, start, end):
    return sql[tokens[start].start:tokens[end - 1].end] if start < end else ""


def check_identifier(sql, token):
    """An unquoted reserved word cannot name a column, table or alias (RSQL_reservedwords)."""
    if token.kind == "word" and token.text.upper() in RESERVED_WORDS:
        raise syntax_error(-1, "IDENTIFIER expected, %s found" % found(token), sql, token)


def _parse_type(sql, tokens, index, end):
    """(DDL type name, argument text, index after the type), refusing non-IRIS types."""
    token = tokens[index] if index < end else None
    if token is None or is_word(token, *_CONSTRAINT_WORDS):
        return None, "", index
    if token.kind == "word" and token.text.startswith("%"):
        name, index = token.text.upper(), index + 1
        while index + 1 < end and tokens[index].text == "." and tokens[index + 1].kind == "word":
            name += "." + tokens[index + 1].text.upper()
            index += 2
        args = ""
        if index < end and tokens[index].text == "(":
            stop = closing(tokens, index)
            args, index = _text(sql, tokens, index + 1, stop), stop + 1
        ddl = CLASS_TYPES.get(name, "VARCHAR")
        if ddl == "VARCHAR":
            maxlen = [part.split("=")[1].strip() for part in args.upper().split(",") if "MAXLEN" in part]
            args = maxlen[0] if maxlen else "50"  # %Library.String's MAXLEN defaults to 50
        elif ddl != "NUMERIC":
            args = ""
        return ddl, args, index
    words = []
    probe = index
    while probe < end and tokens[probe].kind == "word" and not is_word(tokens[probe], *_CONSTRAINT_WORDS):
        words.append(tokens[probe].text.upper())
        probe += 1
    for name in TYPE_NAMES_BY_LENGTH:
        parts = name.split()
        if words[:len(parts)] == parts:
            index += len(parts)
            break
    else:
        raise syntax_error(-400, "Datatype '%s' not found in the DDL data type mappings" % (
            " ".join(words) or token.text), sql, tokens[min(probe, end) - 1] if words else token)
    args = ""
    if index < end and tokens[index].text == "(":
        stop = closing(tokens, index)
        args, index = _text(sql, tokens, index + 1, stop), stop + 1
    if index < end and tokens[index].text == "[":  # PostgreSQL array types
        raise syntax_error(-1, "Input ([) encountered after end of query", sql, tokens[index])
    if name == "EMBEDDING" and not _settings.at_least(2024, 3):  # new in 2024.3 (iris-vector-search sql_demo.ipynb)
        raise syntax_error(-400, "Datatype 'EMBEDDING' not found in the DDL data type mappings", sql, token)
    return name, args, index


def _vector_parts(sql, tokens, args, token):
    """(element type, length) of VECTOR(type, length); FLOAT only from 2024.3."""
    parts = [part.strip().upper() for part in args.split(",")] if args else []
    element = parts[0] if parts else ("FLOAT" if _settings.at_least(2024, 3) else "DOUBLE")
    if element not in VECTOR_ELEMENT_TYPES:
        raise syntax_error(-1, "Invalid VECTOR element type %s" % element, sql, token)
    if element == "FLOAT" and not _settings.at_least(2024, 3):
        # "The FLOAT option here is new in 2024.3": intersystems-community/iris-vector-search demo/sql_demo.ipynb
        raise syntax_error(-1, "Invalid VECTOR element type FLOAT", sql, token)
    return element, parts[1] if len(parts) > 1 else ""


def _column(sql, tokens, start, end, table, state):
    """SQLite text of one IRIS column definition."""
    name_token = tokens[start]
    check_identifier(sql, name_token)
    column = identifier_name(name_token)
    quoted = '"%s"' % column.replace('"', '""')
    ddl, args, index = _parse_type(sql, tokens, start + 1, end)
    category = IRIS_DDL_TYPES[ddl][0] if ddl else None
    collation, pieces, checks, identity = "SQLUPPER" if category == "string" else None, [], [], False
    while index < end:
        token = tokens[index]
        word = token.text.upper() if token.kind == "word" else None
        if word == "IDENTITY":
            identity, index = True, index + 1
        elif word == "AUTO_INCREMENT":
            category, index = "counter", index + 1
        elif word == "COLLATE" or word in _COLLATIONS:
            if word == "COLLATE":
                index += 1
                word = tokens[index].text.upper() if index < end else ""
            collation = _COLLATIONS.get(word, None) if category == "string" else None
            index += 1
            if index < end and tokens[index].text == "(":
                index = closing(tokens, index) + 1
        elif word == "%DESCRIPTION":
            index += 2
        elif word == "ON" and is_word(tokens[index + 1] if index + 1 < end else None, "UPDATE"):
            index += 3  # ON UPDATE update-spec: not SQLite's; the stand-in ignores it
        else:
            stop = index + 1
            while stop < end and not (tokens[stop].kind == "word" and tokens[stop].text.upper() in _SPECIAL):
                if tokens[stop].text == "(":
                    stop = closing(tokens, stop)
                stop += 1
            pieces.append(_text(sql, tokens, index, stop))
            index = stop
    if identity:
        state["identity"] = column
        return quoted + " INTEGER PRIMARY KEY AUTOINCREMENT" if not state["primary_key"] else quoted + " INTEGER UNIQUE"
    if ddl in ("VECTOR", "EMBEDDING"):
        element, length = _vector_parts(sql, tokens, args, name_token)
        declared = "VECTOR %s" % element + ("(%s)" % length if length else "")
        if length:
            checks.append("CONSTRAINT _standin_vector_%s_%s CHECK (%s IS NULL OR iris_vector_length(%s) = %s)" % (
                column, length, quoted, quoted, length))
    elif ddl is None:
        declared = ""
    else:
        declared = ddl + ("(%s)" % args if args else "")
    if category == "string":
        maxlen = args.split(",")[0].strip() if args else "1"
        if maxlen.isdigit():
            checks.append("CONSTRAINT _standin_maxlen_%s_%s CHECK (length(%s) <= %s)" % (column, maxlen, quoted, maxlen))
    if category == "counter":
        state["after"].append(
            'CREATE TRIGGER "_standin_counter_{t}_{c}" AFTER INSERT ON "{t}" WHEN NEW.{q} IS NULL OR NEW.{q} = 0 '
            'BEGIN UPDATE "{t}" SET {q} = (SELECT COALESCE(MAX({q}), 0) + 1 FROM "{t}") WHERE rowid = NEW.rowid; END'
            .format(t=table, c=column, q=quoted))
    text = " ".join(part for part in [quoted, declared, "COLLATE " + collation if collation else ""] + pieces if part)
    return " ".join([text] + checks)  # named column constraints, inline


def _declares_primary_key(tokens, a, b):
    """Whether an element (table constraint or non-IDENTITY column) declares a primary key."""
    words = [t.text.upper() for t in tokens[a:b] if t.kind == "word"]
    return "PRIMARY" in words and "IDENTITY" not in words


def create_table(sql, tokens):
    """Translated for CREATE [GLOBAL TEMPORARY] TABLE name (elements) [WITH %CLASSPARAMETER ...]."""
    index = next(i for i, t in enumerate(tokens) if is_word(t, "TABLE")) + 1
    if is_word(at(tokens, index), "IF") and is_word(at(tokens, index + 1), "NOT"):
        index += 3  # IF NOT EXISTS
    if index + 2 < len(tokens) and tokens[index + 1].text == ".":
        index += 2  # schema-qualified: the schema was checked by the caller
    if index >= len(tokens):
        return Translated(sql)
    check_identifier(sql, tokens[index])
    table = identifier_name(tokens[index])
    if index + 1 >= len(tokens) or tokens[index + 1].text != "(":
        return Translated(sql)  # CREATE TABLE ... AS SELECT: SQLite's own form
    open_at = index + 1
    close_at = closing(tokens, open_at)
    elements = _split(tokens, open_at + 1, close_at)
    # %CLASSPARAMETER ALLOWIDENTITYINSERT=1, as a table element (RSQL_createtable) or
    # after the list (WITH %CLASSPARAMETER ..., as caretdev/sqlalchemy-iris emits it).
    settings = "".join(t.text.upper() for t in tokens if t.depth <= 1)
    allow = "%CLASSPARAMETERALLOWIDENTITYINSERT=1" in settings
    state = {"identity": None, "after": [],
             "primary_key": any(_declares_primary_key(tokens, a, b) for a, b in elements)}
    out = []
    for a, b in elements:
        first = tokens[a]
        word = first.text.upper() if first.kind == "word" else None
        if word == "%CLASSPARAMETER" or word in _DROPPED_ELEMENTS:
            continue
        if word in _TABLE_ELEMENTS:
            out.append(_text(sql, tokens, a, b))
        else:
            out.append(_column(sql, tokens, a, b, table, state))
    sqlite_sql = sql[:tokens[open_at].start] + "(" + ", ".join(out) + ")"
    identity = (table, state["identity"], 1 if allow else 0) if state["identity"] else None
    after = list(state["after"])
    if state["identity"] and state["primary_key"]:
        after.append(
            'CREATE TRIGGER "_standin_identity_{t}" AFTER INSERT ON "{t}" WHEN NEW."{c}" IS NULL BEGIN '
            'UPDATE "{t}" SET "{c}" = (SELECT COALESCE(MAX("{c}"), 0) + 1 FROM "{t}") WHERE rowid = NEW.rowid; END'
            .format(t=table, c=state["identity"]))
    return Translated(sqlite_sql, after, identity)


def add_column(sql, tokens):
    """ALTER TABLE t ADD [COLUMN] definition: the definition translated like CREATE TABLE's."""
    add_at = next(i for i, t in enumerate(tokens) if is_word(t, "ADD"))
    start = add_at + 1 + (1 if is_word(tokens[add_at + 1], "COLUMN") else 0)
    if is_word(tokens[start], *_TABLE_ELEMENTS):
        return Translated(sql)
    table = identifier_name(tokens[add_at - 1])
    state = {"identity": None, "after": [], "primary_key": True}
    definition = _column(sql, tokens, start, len(tokens), table, state)
    return Translated(sql[:tokens[start].start] + definition, state["after"])


def create_index(sql, tokens):
    """CREATE [UNIQUE|BITMAP] INDEX name ON [TABLE] t (columns) [AS class(...)], for SQLite.

    Returns None for an index SQLite has no counterpart of (HNSW), after the
    release check (https://github.com/intersystems-community/iris-vector-search/blob/main/demo/SQLSyntax.md:
    "available only for InterSystems IRIS 2025.1 and later").
    """
    for token in tokens:
        if is_word(token, "USING"):  # PostgreSQL's access-method clause; measured by iris-pgwire
            raise syntax_error(-25, " Input (USING) encountered after end of query", sql, token)
    as_at = next((i for i, t in enumerate(tokens) if is_word(t, "AS") and t.depth == 0), None)
    if as_at is not None:
        kind = " ".join(t.text for t in tokens[as_at + 1:as_at + 6] if t.kind == "word" or t.text == ".").upper()
        if "HNSW" in kind:
            if not _settings.at_least(2025, 1):
                raise syntax_error(-400, "Class '%SQL.Index.HNSW' does not exist", sql, tokens[as_at + 1])
            return None
        tokens, sql = tokens[:as_at], sql[:tokens[as_at].start]
    kept = [t for t in tokens if not is_word(t, "BITMAP", "BITSLICE", "COLUMNAR")]
    on_at = next(i for i, t in enumerate(kept) if is_word(t, "ON"))
    if is_word(kept[on_at + 1], "TABLE"):
        kept = kept[:on_at + 1] + kept[on_at + 2:]
    text = " ".join(t.text for t in kept)
    return Translated(text if text != sql else sql)


def identity_of(connection, table):
    """(column, allow_insert) of table's IDENTITY column, or None."""
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (IDENTITY_TABLE,)).fetchone()
    if not exists:
        return None
    return connection.execute(
        "SELECT column_name, allow_insert FROM %s WHERE table_name = ? COLLATE NOCASE" % IDENTITY_TABLE,
        (table,)).fetchone()


def record_identity(connection, identity):
    connection.execute(
        "CREATE TABLE IF NOT EXISTS %s (table_name TEXT PRIMARY KEY COLLATE NOCASE, column_name TEXT, "
        "allow_insert INTEGER)" % IDENTITY_TABLE)
    connection.execute("INSERT OR REPLACE INTO %s VALUES (?, ?, ?)" % IDENTITY_TABLE, identity)


def forget_identity(connection, table):
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (IDENTITY_TABLE,)).fetchone():
        connection.execute("DELETE FROM %s WHERE table_name = ? COLLATE NOCASE" % IDENTITY_TABLE, (table,))

