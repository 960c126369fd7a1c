"""SQLite's errors as PostgreSQL's: SQLSTATE and wording for what sqlite3
raises, and the errors the SQL functions of the emulation raise."""

import re

from .protocol import WorkerError

CANCEL_MESSAGE = "canceling statement due to user request"


def sqlite3_module():
    """The stdlib sqlite3, imported on first use: an IRIS host's Python need not have it."""
    import sqlite3
    return sqlite3


# sqlite3 reports any exception raised by a SQL function only as "user-defined
# function raised exception"; the real PostgreSQL error waits here until
# sqlite_error picks it up.
_function_error = None


def fail(sqlstate, message, detail=None):
    """Raise a PostgreSQL error from a SQL function that SQLite calls."""
    global _function_error
    _function_error = WorkerError(sqlstate, message, detail)
    raise _function_error


# First match wins; SQLite's messages are stable across versions.
_SQLITE_MESSAGES = tuple((re.compile(pattern), sqlstate) for pattern, sqlstate in (
    (r"interrupted\Z", "57014"),
    (r"near \".*\": syntax error|incomplete input|unrecognized token", "42601"),
    (r"no such (table|view)", "42P01"),
    (r"no such column", "42703"),
    (r"no such function|wrong number of arguments to function", "42883"),
    (r"no such (collation sequence|index|trigger|module)", "42704"),
    (r"no such savepoint", "3B001"),
    (r"ambiguous column name", "42702"),
    (r"duplicate column name", "42701"),
    (r"(table|view|index) .* already exists", "42P07"),
    (r"trigger .* already exists", "42710"),
    (r"UNIQUE constraint failed|PRIMARY KEY must be unique", "23505"),
    (r"NOT NULL constraint failed", "23502"),
    (r"FOREIGN KEY constraint failed", "23503"),
    (r"CHECK constraint failed", "23514"),
    (r"datatype mismatch|cannot store .* value in .* column", "42804"),
    (r"database is locked|database table is locked|database schema is locked", "55P03"),
    (r"attempt to write a readonly database", "25006"),
    (r"too many SQL variables|variable number must be between", "54000"),
    (r"too many (columns|terms)", "54011"),
    (r"string or blob too big", "54000"),
    (r"Expression tree is too large|parser stack overflow|too many levels of trigger recursion", "54001"),
    (r"integer overflow", "22003"),
    (r"misuse of aggregate", "42803"),
    (r"misuse of window function", "42P20"),
    (r"cannot start a transaction within a transaction", "25001"),
    (r"cannot (commit|rollback) - no transaction is active", "25P01"),
    (r"cannot modify .* because it is a view", "42809"),
    (r"table \S+ has \d+ columns but \d+ values were supplied|\d+ values for \d+ columns", "42601"),
    (r"sub-select returns \d+ columns", "42601"),
    (r"object name reserved for internal use", "42939"),
    (r"Incorrect number of bindings supplied", "08P01"),
    (r"You can only execute one statement at a time", "42601"),
    (r"Cannot operate on a closed database", "08003"),
    (r"Could not decode to UTF-8|the query contains a null character", "22021"),
    (r"database or disk is full", "53100"),
    (r"out of memory", "53200"),
    (r"disk I/O error|unable to open database file", "58030"),
    (r"database disk image is malformed|file is not a database", "XX001"),
))

# Extended result codes (Python >= 3.11) that say more than their message.
_SQLITE_EXTENDED = {
    517: "40001",    # SQLITE_BUSY_SNAPSHOT: a stale snapshot tried to write, retry
    1811: "P0001",   # SQLITE_CONSTRAINT_TRIGGER: RAISE() in a trigger
}

# Primary result codes, for messages not matched above.
_SQLITE_PRIMARY = {
    2: "XX000", 3: "42501", 5: "55P03", 6: "55P03", 7: "53200", 8: "25006",
    9: "57014", 10: "58030", 11: "XX001", 13: "53100", 14: "58030", 18: "54000",
    19: "23000", 20: "42804", 23: "42501", 25: "08P01", 26: "XX001",
}

# PostgreSQL's wording for constraint violations; SQLite's message, which
# names the table and column, goes into detail.
_CONSTRAINT_MESSAGES = {
    "23505": "duplicate key value violates unique constraint",
    "23503": "insert or update violates foreign key constraint",
}
_NOT_NULL_COLUMN = re.compile(r"NOT NULL constraint failed: (?:(.+)\.)?([^.]+)\Z")
_CHECK_NAME = re.compile(r"CHECK constraint failed: (.+)\Z")


_REWORDINGS = (
    # (sqlstate, SQLite message pattern, PostgreSQL's message)
    ("42601", re.compile(r'near "(.*)": syntax error\Z', re.S), 'syntax error at or near "{0}"'),
    ("42601", re.compile(r"incomplete input\Z"), "syntax error at end of input"),
    ("42P01", re.compile(r"no such (?:table|view): (?:\w+\.)?(.+)\Z"), 'relation "{0}" does not exist'),
    ("42703", re.compile(r"no such column: (.+)\Z"), 'column "{0}" does not exist'),
    ("42P07", re.compile(r"(?:table|view|index) (?:\w+\.)?\"?([^\"]+)\"? already exists\Z"), 'relation "{0}" already exists'),
    ("42883", re.compile(r"no such function: (.+)\Z"), "function {0}() does not exist"),
)


def _postgres_wording(sqlstate, message):
    """PostgreSQL's message for a SQLite error, or None (SQLite's text stays
    in the detail, so nothing is lost)."""
    for state, pattern, template in _REWORDINGS:
        if state == sqlstate:
            match = pattern.match(message)
            if match:
                return template.format(*match.groups())
    return None


def sqlite_error(exc):
    """Map an exception raised by sqlite3 (or binding a value) to a WorkerError."""
    global _function_error
    message = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if message.startswith("user-defined function raised exception") and _function_error is not None:
        error, _function_error = _function_error, None
        error.backend_code = code
        return error
    if isinstance(exc, OverflowError):
        return WorkerError("22003", "value out of range for a 64-bit integer: %s" % message)
    if isinstance(exc, MemoryError):
        return WorkerError("53200", "out of memory")
    sqlstate = _SQLITE_EXTENDED.get(code)
    if sqlstate is None:
        sqlstate = next((s for pattern, s in _SQLITE_MESSAGES if pattern.match(message)), None)
    if sqlstate is None and code is not None:
        sqlstate = _SQLITE_PRIMARY.get(code & 0xFF)
    if sqlstate is None:
        sqlstate = "23000" if isinstance(exc, sqlite3_module().IntegrityError) else "XX000"
    if sqlstate == "57014":
        return WorkerError(sqlstate, CANCEL_MESSAGE, backend_code=code)
    reworded = _postgres_wording(sqlstate, message)
    if reworded is not None:
        return WorkerError(sqlstate, reworded, detail=message, backend_code=code)
    if sqlstate in ("23505", "23503"):
        return WorkerError(sqlstate, _CONSTRAINT_MESSAGES[sqlstate], detail=message, backend_code=code)
    if sqlstate == "23502":
        match = _NOT_NULL_COLUMN.match(message)
        if match and match.group(1):
            text = 'null value in column "%s" of relation "%s" violates not-null constraint' % (
                match.group(2), match.group(1))
        else:
            text = "null value violates not-null constraint"
        return WorkerError(sqlstate, text, detail=message, backend_code=code)
    if sqlstate == "23514":
        match = _CHECK_NAME.match(message)
        text = 'new row violates check constraint "%s"' % match.group(1) if match else "new row violates check constraint"
        return WorkerError(sqlstate, text, detail=message, backend_code=code)
    return WorkerError(sqlstate, message, backend_code=code)
