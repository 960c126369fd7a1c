"""SQLCODEs, their texts, and how the stand-in's failures are worded.

The texts are IRIS's "SQL Error Messages" table
(https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RERR_sql),
cross-checked where possible against messages measured on IRIS 2026.2 by
intersystems-community/iris-pgwire (src/iris_pgwire/sql_translator/sqlstate.py,
boolean_expr.py, docs/orm-introspection-findings.md).

IRIS words a failure twice: the SQLCODE's fixed text, and a %msg naming the
offending token and the statement up to it (``... found^SELECT a =``).
Embedded Python reports %msg through %SQL.StatementResult.%Message and a
%Status (``ERROR #5540: SQLCODE: -25 Message: ...``); the DB-API raises
``[SQLCODE: <-25>:<Input encountered after end of query>] [Location: <Prepare>]
[%msg: <...>]``.
"""

import re

SQLCODE_TEXT = {
    -1: "Invalid SQL statement",
    -4: "A term expected, beginning with one of the following: identifier, constant, aggregate, "
        "$$, (, :, +, -, %ALPHAUP, %EXACT, %MVR, %SQLSTRING, %SQLUPPER, %STRING, %UPPER",
    -12: "A term expected, beginning with one of the following: identifier, constant, aggregate, "
         "%ALPHAUP, %EXACT, %MVR, %SQLSTRING, %SQLUPPER, %STRING, %UPPER, $$, :, +, -, (, NOT, EXISTS, or FOR",
    -14: "A comparison operator is required here",
    -25: "Input encountered after end of query",
    -29: "Field not found in the applicable tables",
    -30: "Table or view not found",
    -51: "SQL statement expected",
    -104: "Field validation failed in INSERT, or value failed to convert in DisplayToLogical or OdbcToLogical",
    -105: "Field validation failed in UPDATE",
    -108: "Required field missing; INSERT or UPDATE not allowed",
    -110: "Locking conflict in filing",
    -111: "Cannot INSERT into a 'Default Only' RowID or RowVersion Field",
    -119: "UNIQUE or PRIMARY KEY Constraint failed uniqueness check upon INSERT",
    -121: "FOREIGN KEY constraint failed referential check upon INSERT of row in referencing table",
    -201: "Table or view name not unique",
    -257: "Vectors must be of the same length",
    -301: "Savepoint name is not a valid identifier",
    -359: "User defined SQL function does not exist",
    -375: "Cannot ROLLBACK to unestablished savepoint",
    -400: "Fatal error occurred",
}


class IrisSqlError(Exception):
    """A failure as IRIS reports it: SQLCODE and %msg."""

    def __init__(self, sqlcode, message):
        super().__init__(message)
        self.sqlcode = sqlcode
        self.message = message


def syntax_error(sqlcode, text, sql, token):
    """IRIS's parse-error %msg: what went wrong, ``^``, the statement up to the token."""
    return IrisSqlError(sqlcode, "%s^%s" % (text, sql[:token.end]))


def found(token):
    """How IRIS names a token it did not expect (``IDENTIFIER (X)``, ``reserved word FROM``)."""
    from ._reserved import RESERVED_WORDS  # a leaf module; imported late to keep this one first
    if token.kind == "word":
        word = token.text.upper()
        return "reserved word %s" % word if word in RESERVED_WORDS else "IDENTIFIER (%s)" % word
    if token.kind in ("number", "string"):
        return "LITERAL (%s)" % token.text
    return token.text


# --- sqlite3 failures, as IRIS would word the same failure ---------------------

def from_sqlite(exc, strict, function_error=None):
    """IrisSqlError for what sqlite3 raised (``function_error``: what a stand-in
    SQL function raised, which sqlite3 reports only as "user-defined function
    raised exception")."""
    message = str(exc)
    if function_error is not None and "user-defined function raised exception" in message:
        return function_error
    match = re.match(r"no such table: (?:(\w+)\.)?(\w+)", message)
    if match:
        schema = (match.group(1) or "SQLUser") if strict else "SQLUser"
        return IrisSqlError(-30, "Table '%s.%s' not found" % (schema.upper(), match.group(2).upper()))
    match = re.match(r"no such column: (?:\w+\.)?(\w+)" if strict else r"no such column: (\w+)", message)
    if match:
        return IrisSqlError(-29, "Field '%s' not found in the applicable tables" % match.group(1).upper())
    if strict:
        match = re.match(r"no such function: (\w+)", message)
        if match:  # IRIS resolves an unknown function as a user-defined one (iris-pgwire, measured)
            return IrisSqlError(-359, "User defined SQL function 'SQLUSER.%s' does not exist" % match.group(1).upper())
        match = re.match(r"CHECK constraint failed: _standin_maxlen_(\w+?)_(\d+)$", message)
        if match:
            return IrisSqlError(-104, "ERROR #7201: Datatype value length longer than MAXLEN allowed of %s "
                                      "(field %s)" % (match.group(2), match.group(1).upper()))
        match = re.match(r"CHECK constraint failed: _standin_vector_(\w+?)_(\d+)$", message)
        if match:
            return IrisSqlError(-104, "Field '%s' failed validation: vector length must be %s" % (
                match.group(1).upper(), match.group(2)))
        if "database is locked" in message:
            return IrisSqlError(-110, message)
    if re.match(r"near .*syntax error|incomplete input|unrecognized token", message):
        return IrisSqlError(-1, message)
    match = re.match(r"UNIQUE constraint failed: (\w+)\.(\w+)", message)
    if match:
        return IrisSqlError(-119, "Table 'SQLUSER.%s', Constraint '%s' failed unique check" % (
            match.group(1).upper(), match.group(2).upper()))
    match = re.match(r"NOT NULL constraint failed: (\w+)\.(\w+)", message)
    if match:
        return IrisSqlError(-108, "'%s' in table '%s' is a required field" % (match.group(2), match.group(1)))
    if message.startswith("FOREIGN KEY constraint failed"):
        return IrisSqlError(-121, message)
    match = re.match(r"table (\w+) already exists", message)
    if match:
        return IrisSqlError(-201, "Table 'SQLUSER.%s' already exists" % match.group(1).upper())
    return IrisSqlError(-400, message)


def status_text(error):
    """The %Status text of a failed %Prepare."""
    return "ERROR #5540: SQLCODE: %d Message: %s" % (error.sqlcode, error.message)


def dbapi_text(error, location):
    """The DB-API's wording of a failure."""
    return "[SQLCODE: <%d>:<%s>]\r\n[Location: <%s>]\r\n[%%msg: <%s>]" % (
        error.sqlcode, SQLCODE_TEXT.get(error.sqlcode, "Error"), location, error.message)
