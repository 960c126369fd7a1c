"""PostgreSQL's wording for IRIS's common SQLCODEs.

IRIS names objects the way its class dictionary spells them (``SQLUSER.NOPE``,
``Constraint 'T_PKEY1'``); PostgreSQL names them as the client wrote them,
folded to lower case. Clients and ORMs match on PostgreSQL's texts and read
the error fields (table, column, constraint), so each common SQLCODE is
reworded here and IRIS's own %msg goes to DETAIL. Message shapes parsed are
the ones documented in /work/notes/iris-rules.md and produced by the stand-in
(tests/iris_standin/iris/_errors.py); an unrecognised shape keeps IRIS's text.
"""

import re

# IRIS's default schema; PostgreSQL's messages never name the default schema.
_DEFAULT_SCHEMA = "sqluser"

# -30: ``Table 'SQLUSER.NOPE' not found`` (also ``Table 'NOPE' not found``).
_TABLE_NOT_FOUND = re.compile(r"Table '(?:([^'.]+)\.)?([^']+)' not found")
# -29: ``Field 'NOPE' not found in the applicable tables`` (or ``'T.NOPE'``).
_FIELD_NOT_FOUND = re.compile(r"Field '(?:[^']*\.)?([^'.]+)' not found")
# -119: ``Table 'SQLUSER.T', Constraint 'T_PKEY1' failed unique check``,
# sometimes with ``(Field 'ID')`` / ``(Field(s) 'A,B')`` naming the key.
_UNIQUE = re.compile(
    r"Table '(?:([^'.]+)\.)?([^']+)', Constraint '([^']+)'(?:\s*\(Field(?:\(s\))? '([^']+)'\))?")
# -108: ``'name' in table 't' is a required field`` (stand-in, measured wording
# unverified) or ``Field 'SQLUser.T.Name' ... required``.
_REQUIRED = re.compile(r"'([^']+)' in table '([^']+)' is a required field")
_REQUIRED_FIELD = re.compile(r"Field '(?:([^'.]+)\.)?(?:([^'.]+)\.)?([^'.]+)'.*required", re.DOTALL)
# -104/-105: ``... longer than MAXLEN allowed of 5 (field NAME)``.
_MAXLEN = re.compile(r"MAXLEN allowed of (\d+)(?:\s*\(field ([^)]+)\))?")
_BAD_VALUE = re.compile(r"\(value '([^']*)'\)")


def _fold(name):
    """An IRIS name as PostgreSQL would print the unquoted identifier."""
    return name.strip().strip('"').lower()


def _schema(name):
    """The schema to report: None for IRIS's default (PostgreSQL's public)."""
    if not name or _fold(name) == _DEFAULT_SCHEMA:
        return None
    return _fold(name)


def reword(error, sqlcode, message):
    """Give `error` (a WorkerError with IRIS's %msg) PostgreSQL's message and
    error fields; IRIS's text moves to DETAIL. Returns `error`."""
    text = message.split("^", 1)[0]  # IRIS appends ``^statement-prefix`` to parse errors
    reworded = None
    if sqlcode == -30:
        match = _TABLE_NOT_FOUND.search(text)
        if match:
            # PostgreSQL sets no table field for 42P01; it names the schema
            # only when the statement did.
            schema = _schema(match.group(1))
            reworded = 'relation "%s%s" does not exist' % (
                schema + "." if schema else "", _fold(match.group(2)))
    elif sqlcode == -29:
        match = _FIELD_NOT_FOUND.search(text)
        if match:
            reworded = 'column "%s" does not exist' % _fold(match.group(1))
    elif sqlcode in (-119, -120):
        match = _UNIQUE.search(text)
        if match:
            error.schema, error.table = _schema(match.group(1)), _fold(match.group(2))
            error.constraint = _fold(match.group(3))
            reworded = 'duplicate key value violates unique constraint "%s"' % error.constraint
    elif sqlcode == -108:
        match = _REQUIRED.search(text)
        if match:
            error.column, error.table = _fold(match.group(1)), _fold(match.group(2))
        else:
            match = _REQUIRED_FIELD.search(text)
            if match:
                error.column = _fold(match.group(3))
                error.table = _fold(match.group(2)) if match.group(2) else None
        if error.column:
            reworded = 'null value in column "%s"%s violates not-null constraint' % (
                error.column, ' of relation "%s"' % error.table if error.table else "")
    elif sqlcode in (-104, -105):
        reworded = _value_error(error, text)
    if reworded is not None:
        error.detail = "IRIS SQLCODE %d: %s" % (sqlcode, message)
        error.message = reworded
    return error


def _value_error(error, text):
    """PostgreSQL's text for a value IRIS refused to store (22001 / 22P02)."""
    match = _MAXLEN.search(text)
    if match and error.sqlstate == "22001":
        if match.group(2):
            error.column = _fold(match.group(2))
        return "value too long for type character varying(%s)" % match.group(1)
    match = _BAD_VALUE.search(text)
    if match and error.sqlstate == "22P02":
        return 'invalid input syntax: "%s"' % match.group(1)
    return None
