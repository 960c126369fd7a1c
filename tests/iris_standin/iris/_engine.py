"""One IRIS session over sqlite3: prepare, execute, transactions.

A worker process is one IRIS session, so the session is module-level state,
shared by the embedded (%SQL.Statement) and DB-API surfaces. In strict mode a
statement is checked (rules.py, the DDL and catalog checks here), rewritten
for SQLite (_ddl.py, _rewrite.py) and run; transaction statements keep
IRIS's $TLEVEL: START TRANSACTION makes it 1, each SAVEPOINT adds one and
ROLLBACK TO SAVEPOINT restores it
(https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_savepoint).
The isolation level starts as READ UNCOMMITTED (IsolationMode 0; caretdev/
sqlalchemy-iris get_isolation_level: "by default it's 0"); SQLite cannot show
one session another's uncommitted rows, so only the setting is kept.
"""

import os
import re
import sqlite3

from . import _ddl, _functions, _results, _settings, rules
from ._errors import IrisSqlError, found, from_sqlite, syntax_error
from ._lexer import at, identifier_name, is_word, tokenize
from ._reserved import NILADIC_FUNCTIONS, RESERVED_WORDS
from ._rewrite import rewrite

_STATEMENT_TYPES = {"SELECT": 1, "WITH": 1, "VALUES": 1, "INSERT": 2, "UPDATE": 3, "DELETE": 4}
_ISOLATION = {"READ UNCOMMITTED": 0, "READ COMMITTED": 1, "READ VERIFIED": 3}
# Reserved words that are statement structure, never taken for a column here.
_STRUCTURE = frozenset((
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "IS", "IN", "ON", "AS", "CASE", "WHEN", "THEN",
    "ELSE", "END", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "UNION", "ALL", "DISTINCT",
    "BETWEEN", "LIKE", "EXISTS", "INTO", "VALUES", "SET", "UPDATE", "DELETE", "INSERT", "GROUP", "ORDER",
    "HAVING", "TOP", "ASC", "DESC", "BY", "WITH", "CAST", "ESCAPE", "SOME", "ANY", "DEFAULT", "TRUE",
    "FALSE", "NATURAL", "USING", "EXCEPT", "INTERSECT", "FOR", "FETCH", "FIRST", "NEXT", "ONLY", "ROWS"))


class Session:
    """What IRIS keeps per process: $TLEVEL, savepoints, isolation, streams."""

    def __init__(self):
        self.tlevel = 0
        self.savepoints = []  # (name, $TLEVEL before it)
        self.isolation = 0
        self.function_error = None
        self.last_identity = None
        self.streams = _results.Streams()
        self.catalog_version = None
        self.catalog_cache = {}


session = Session()
_database = None


def connection():
    global _database
    if _database is None:
        _database = sqlite3.connect(
            os.environ.get("IRIS_STANDIN_DB", ":memory:"), isolation_level=None, check_same_thread=False)
        _database.execute("PRAGMA foreign_keys = ON")
        if _settings.STRICT:
            _functions.register(_database, session)
    return _database


def in_transaction():
    return session.tlevel > 0 if _settings.STRICT else connection().in_transaction


def rollback_all():
    if connection().in_transaction:
        connection().rollback()
    session.tlevel, session.savepoints = 0, []


def sqlite_error(exc):
    """IrisSqlError for a sqlite3 failure (and the stand-in function behind it)."""
    error = from_sqlite(exc, _settings.STRICT, session.function_error)
    session.function_error = None
    return error


# --- the catalog ---------------------------------------------------------------------

def catalog(table):
    """{lower-case column: (defined name, declared type, collation)} of a table."""
    conn = connection()
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    if version != session.catalog_version:
        session.catalog_version, session.catalog_cache = version, {}
    key = table.lower()
    if key not in session.catalog_cache:
        row = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                           (table,)).fetchone()
        columns = {}
        if row:
            collations = {m.group(1).replace('""', '"').lower(): m.group(2) for m in re.finditer(
                r'[(,]\s*"((?:[^"]|"")+)"[^,]*?\bCOLLATE (SQLUPPER|SQLSTRING)\b', row[1] or "")}
            for info in conn.execute('PRAGMA table_info("%s")' % row[0].replace('"', '""')):
                columns[info[1].lower()] = (info[1], info[2], collations.get(info[1].lower()))
        session.catalog_cache[key] = columns
    return session.catalog_cache[key]


def _all_column_names():
    conn = connection()
    names = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        names.update(catalog(table))
    return names


def _check_reserved_columns(sql, tokens):
    """A column whose name is a reserved word must be quoted where it is used
    (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_reservedwords)."""
    candidates = [(i, t) for i, t in enumerate(tokens) if t.kind == "word" and t.text.upper() in RESERVED_WORDS
                  and t.text.upper() not in _STRUCTURE and t.text.upper() not in NILADIC_FUNCTIONS]
    if not candidates:
        return
    names = _all_column_names()
    for index, token in candidates:
        following, previous = at(tokens, index + 1), at(tokens, index - 1)
        if following is not None and (following.text == "(" or is_word(following, "BY")):
            continue
        if is_word(previous, "AS"):
            continue
        if token.text.lower() in names:
            raise syntax_error(-1, "IDENTIFIER expected, %s found" % found(token), sql, token)


def _check_identity_insert(sql, tokens):
    """No explicit IDENTITY value without %CLASSPARAMETER ALLOWIDENTITYINSERT=1: SQLCODE -111
    (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_createtable_idfield)."""
    position = 2 if is_word(at(tokens, 1), "INTO") else 1
    if at(tokens, position + 1) is not None and tokens[position + 1].text == ".":
        position += 2
    table_token = at(tokens, position)
    if table_token is None:
        return
    identity = _ddl.identity_of(connection(), identifier_name(table_token))
    if identity is None or identity[1]:
        return
    for token in tokens[position + 1:]:
        if token.depth == 1 and token.kind in ("word", "qident") and identifier_name(token).lower() == identity[0].lower():
            raise IrisSqlError(-111, "Field '%s' is an IDENTITY field and cannot be given a value "
                                     "unless the table has %%CLASSPARAMETER ALLOWIDENTITYINSERT=1" % identity[0])
        if token.depth == 0 and is_word(token, "VALUES", "SELECT"):
            break


# --- prepared statements --------------------------------------------------------------

class Prepared:
    """A statement ready to run: its SQLite form and what running it means."""

    def __init__(self, sql, sqlite_sql, params=None, columns=(), statement_type=0, action=None, after=(),
                 identity=None, reorder=None):
        self.sql = sql
        self.sqlite_sql = sqlite_sql
        self.parameter_count = params if params is not None else _results.parameter_count(sql)
        self.columns = list(columns)
        self.statement_type = statement_type
        self.action = action  # a callable for statements the engine carries out itself
        self.after = list(after)
        self.identity = identity
        self.reorder = reorder


# The lenient stand-in's INFORMATION_SCHEMA.COLUMNS (the columns iriswire reads).
_LENIENT_COLUMNS = (
    "(SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, p.name AS COLUMN_NAME, "
    "lower(p.type) AS DATA_TYPE, p.cid + 1 AS ORDINAL_POSITION "
    "FROM sqlite_master m, pragma_table_info(m.name) p "
    "WHERE m.type = 'table')")


def _lenient_sql(sql):
    # IRIS spells BEGIN as START TRANSACTION; sqlite3 knows only BEGIN.
    if re.match(r"\s*START\s+TRANSACTION\s*\Z", sql, re.I):
        return "BEGIN"
    return re.sub(r"INFORMATION_SCHEMA\.COLUMNS", _LENIENT_COLUMNS, sql, flags=re.I)


def prepare(sql):
    """Prepared for ``sql``, or IrisSqlError as IRIS's %Prepare would fail."""
    if not _settings.STRICT:
        sqlite_sql = _lenient_sql(sql)
        words = re.findall(r"[A-Za-z]+", sqlite_sql)
        try:
            columns = _results.describe(connection(), sqlite_sql, _results.parameter_count(sqlite_sql), False)
        except sqlite3.Error as exc:
            raise sqlite_error(exc)
        return Prepared(sql, sqlite_sql, columns=columns,
                        statement_type=_STATEMENT_TYPES.get(words[0].upper() if words else "", 0))
    tokens = tokenize(sql)
    rules.check(sql, tokens)
    first = tokens[0].text.upper() if tokens and tokens[0].kind == "word" else ""
    transaction = _transaction(sql, tokens, first)
    if transaction is not None:
        return transaction
    if first in ("CREATE", "ALTER", "DROP", "TRUNCATE"):
        return _ddl_statement(sql, tokens, first)
    if first in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"):
        _check_reserved_columns(sql, tokens)
    if first == "INSERT":
        _check_identity_insert(sql, tokens)
    sqlite_sql, order = rewrite(sql, tokens, list(range(_results.parameter_count(sql))), catalog)
    try:
        columns = _results.describe(connection(), sqlite_sql, len(order), True)
    except sqlite3.Error as exc:
        raise sqlite_error(exc)
    _results.stored_names(columns, sql, tokens, catalog)
    return Prepared(sql, sqlite_sql, params=len(order), columns=columns,
                    statement_type=_STATEMENT_TYPES.get(first, 0), reorder=order)


def _transaction(sql, tokens, first):
    """Prepared for START TRANSACTION, COMMIT, ROLLBACK [TO SAVEPOINT], SAVEPOINT,
    SET TRANSACTION, carried out by the engine; None for other statements."""
    words = [t.text.upper() for t in tokens if t.kind == "word"]
    text = " ".join(words)
    isolation = re.search(r"ISOLATION LEVEL (READ UNCOMMITTED|READ COMMITTED|READ VERIFIED|\w+(?: \w+)?)", text)
    if isolation and isolation.group(1) not in _ISOLATION:
        raise IrisSqlError(-1, "READ UNCOMMITTED, READ COMMITTED or READ VERIFIED expected, %s found" % isolation.group(1))

    def set_isolation():
        if isolation:
            session.isolation = _ISOLATION[isolation.group(1)]

    if first == "START" and words[1:2] == ["TRANSACTION"]:
        def start():
            set_isolation()
            if session.tlevel == 0:
                connection().execute("BEGIN")
                session.tlevel = 1
        return Prepared(sql, None, action=start)
    if first == "SET" and words[1:2] == ["TRANSACTION"]:
        return Prepared(sql, None, action=set_isolation)
    if first in ("COMMIT", "ROLLBACK") and "TO" not in words:
        def end():
            if connection().in_transaction:
                connection().execute(first)
            session.tlevel, session.savepoints = 0, []
        return Prepared(sql, None, action=end)
    if first == "SAVEPOINT":
        name = identifier_name(tokens[1]).upper()

        def savepoint():
            if not connection().in_transaction:
                connection().execute("BEGIN")
            connection().execute('SAVEPOINT "%s"' % name)
            session.savepoints.append((name, session.tlevel))
            session.tlevel += 1
        return Prepared(sql, None, action=savepoint)
    if first == "ROLLBACK":
        name = identifier_name(tokens[-1]).upper()

        def rollback_to():
            levels = [i for i, (saved, _) in enumerate(session.savepoints) if saved == name]
            if not levels:
                raise IrisSqlError(-375, "Savepoint '%s' not established" % name)
            index = levels[-1]
            connection().execute('ROLLBACK TO SAVEPOINT "%s"' % name)
            connection().execute('RELEASE SAVEPOINT "%s"' % name)
            session.tlevel = session.savepoints[index][1]
            del session.savepoints[index:]
            if session.tlevel == 0 and connection().in_transaction:
                connection().execute("COMMIT")
        return Prepared(sql, None, action=rollback_to)
    return None


def _ddl_statement(sql, tokens, first):
    second = tokens[1].text.upper() if len(tokens) > 1 else ""
    kinds = [t.text.upper() for t in tokens[:4] if t.kind == "word"]
    if first == "CREATE" and "TABLE" in kinds:
        translated = _ddl.create_table(sql, tokens)
        return Prepared(sql, translated.sql, after=translated.after, identity=translated.identity)
    if first == "CREATE" and "INDEX" in kinds:
        translated = _ddl.create_index(sql, tokens)
        return Prepared(sql, None, action=lambda: None) if translated is None else Prepared(sql, translated.sql)
    if first == "ALTER" and any(is_word(t, "ADD") for t in tokens):
        translated = _ddl.add_column(sql, tokens)
        return Prepared(sql, translated.sql, after=translated.after)
    if first == "DROP" and second == "TABLE":
        kept = [t for t in tokens if not is_word(t, "CASCADE", "RESTRICT")]
        table = identifier_name(kept[-1])

        def drop():
            _run(" ".join(t.text for t in kept), ())
            _ddl.forget_identity(connection(), table)
        return Prepared(sql, None, action=drop)
    if first == "DROP" and second == "INDEX":
        on_at = next((i for i, t in enumerate(tokens) if is_word(t, "ON")), len(tokens))
        return Prepared(sql, " ".join(t.text for t in tokens[:on_at]))
    if first == "TRUNCATE":
        table = identifier_name(tokens[-1])

        def truncate():  # TRUNCATE TABLE resets the IDENTITY and SERIAL counters (RSQL_truncatetable)
            _run('DELETE FROM "%s"' % table, ())
            if connection().execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
                connection().execute("DELETE FROM sqlite_sequence WHERE name = ? COLLATE NOCASE", (table,))
        return Prepared(sql, None, action=truncate)
    return Prepared(sql, sql)


def _run(sqlite_sql, params):
    try:
        return connection().execute(sqlite_sql, params)
    except sqlite3.Error as exc:
        raise sqlite_error(exc)


def execute(prepared, params):
    """Run a Prepared: (sqlite3 cursor or None, rows affected)."""
    params = list(params)
    if prepared.reorder is not None and len(params) == len(prepared.reorder):
        params = [params[i] for i in prepared.reorder]
    if prepared.action is not None:
        prepared.action()
        return None, 0
    if _settings.STRICT and not connection().in_transaction and (prepared.after or prepared.identity):
        _run("SAVEPOINT _standin_ddl", ())
        try:
            cursor = _finish_ddl(prepared, params)
        except Exception:
            connection().execute("ROLLBACK TO _standin_ddl")
            connection().execute("RELEASE _standin_ddl")
            raise
        connection().execute("RELEASE _standin_ddl")
        return cursor, 0
    if _settings.STRICT and (prepared.after or prepared.identity):
        return _finish_ddl(prepared, params), 0
    cursor = _run(prepared.sqlite_sql, params)
    if _settings.STRICT and prepared.statement_type == 2:
        session.last_identity = cursor.lastrowid
    return cursor, max(cursor.rowcount, 0) if cursor.description is None else 0


def _finish_ddl(prepared, params):
    cursor = _run(prepared.sqlite_sql, params)
    for statement in prepared.after:
        _run(statement, ())
    if prepared.identity:
        _ddl.record_identity(connection(), prepared.identity)
    return cursor
