"""What both IRIS drivers share: ODBC type codes, %SQL.Statement metadata,
PostgreSQL's text form of Python values, importing the ``iris`` module."""

import datetime
import decimal
import re

from ..protocol import WorkerError

# ODBC SQL type codes (as reported by %SQL.StatementColumn.ODBCType and the
# DB-API cursor.description) -> IRIS SQL type names. IRIS strings are all
# Unicode, so the W* codes name the same types as their narrow forms.
ODBC_TYPE_NAMES = {
    -11: "uniqueidentifier", -10: "longvarchar", -9: "varchar", -8: "char",
    -7: "bit", -6: "tinyint", -5: "bigint", -4: "longvarbinary", -3: "varbinary",
    -2: "binary", -1: "longvarchar", 1: "char", 2: "numeric", 3: "decimal",
    4: "integer", 5: "smallint", 6: "float", 7: "real", 8: "double", 9: "date",
    10: "time", 11: "timestamp", 12: "varchar", 16: "boolean", 91: "date",
    92: "time", 93: "timestamp", 1091: "date", 1092: "time", 1093: "timestamp",
}
BINARY_CODES = frozenset((-2, -3, -4))
BOOLEAN_CODES = frozenset((-7, 16))


def pg_text(value):
    """PostgreSQL's text form of a value the protocol cannot carry natively."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):  # datetime, date, time
        text = value.isoformat(" ") if hasattr(value, "date") else value.isoformat()
        head, dot, tail = text.partition(".")
        if dot:  # PostgreSQL prints no trailing zeros in fractional seconds
            digits = tail[:6].rstrip("0")
            text = head + ("." + digits if digits else "") + tail[6:]
        return text
    return value


# Stream columns (LONGVARCHAR, LONGVARBINARY): embedded SQL returns their OID.
STREAM_CODES = frozenset((-1, -4, -10))
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def fold_column_name(name, sql):
    """A result column's name as PostgreSQL names it: IRIS reports the name
    as the table defines it (``Name``), PostgreSQL folds an unquoted
    identifier to lower case. A name the statement quotes exactly (``"Name"``)
    keeps its case, as it would on PostgreSQL."""
    if name.islower() or not _PLAIN_NAME.match(name) or '"%s"' % name in sql:
        return name
    return name.lower()


# A timestamp with an offset as PostgreSQL's text form sends it
# (``2024-01-02 03:04:05.5+02``, ``...Z``, ``...+05:30``).
_TIMESTAMPTZ = re.compile(
    r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d{1,6})?\s*(Z|[+-]\d\d(?::?\d\d)?)\Z")


def iris_param(value):
    """A parameter as IRIS takes it: a timestamp with a time zone becomes
    UTC in IRIS's ODBC format (``YYYY-MM-DD HH:MM:SS.ffffff``), IRIS's
    TIMESTAMP having no zone (PostgreSQL stores timestamptz as UTC too)."""
    if isinstance(value, str) and len(value) <= 40:
        match = _TIMESTAMPTZ.match(value)
        if match:
            date, time, fraction, zone = match.groups()
            moment = datetime.datetime.fromisoformat(
                "%s %s%s" % (date, time, (fraction or "").ljust(7, "0") if fraction else ""))
            if zone != "Z":
                sign = -1 if zone[0] == "-" else 1
                digits = zone[1:].replace(":", "")
                offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
                moment -= sign * offset
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


NUMERIC_CODES = frozenset((2, 3))


def numeric_text(value, scale):
    """A NUMERIC(p,s) value with s decimals, as PostgreSQL prints it: IRIS
    stores it rounded to s places but returns it canonical (``3.1``)."""
    if value is None or value == "":
        return None
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return pg_text(value)
    return format(number.quantize(decimal.Decimal(1).scaleb(-scale)), "f")


def statement_metadata(statement, get, call):
    """``(columns, params, statement_type)`` from a prepared %SQL.Statement.

    ``get``/``call`` read a property and call a method, so one reader serves
    embedded objects and Native SDK proxies alike.
    """
    metadata = get(statement, "%Metadata")
    columns = []
    column_list = get(metadata, "columns")
    for index in range(1, call(column_list, "Count") + 1):
        column = call(column_list, "GetAt", index)
        odbc_type = int(get(column, "ODBCType") or 0)
        columns.append((
            str(get(column, "colName")), ODBC_TYPE_NAMES.get(odbc_type, ""), odbc_type,
            int(get(column, "precision") or 0), int(get(column, "scale") or 0),
            _nullable(get(column, "isNullable"))))
    params = []
    param_list = get(metadata, "parameters")
    for index in range(1, call(param_list, "Count") + 1):
        odbc_type = int(get(call(param_list, "GetAt", index), "ODBCType") or 0)
        params.append((ODBC_TYPE_NAMES.get(odbc_type, ""), odbc_type))
    return tuple(columns), tuple(params), int(get(metadata, "statementType") or 0)


def _nullable(value):
    """isNullable as the protocol's 1/0/2; ObjectScript "" means unknown."""
    return 2 if value in ("", None) else int(value)


# IRIS's default isolation is READ UNCOMMITTED (IsolationMode 0); PostgreSQL's
# is READ COMMITTED, which IRIS has too. Run once per connection: IRIS keeps
# the level for the process (DOC(RSQL_settransaction)).
SESSION_ISOLATION = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"


def import_iris(what, needs):
    """The ``iris`` module (embedded Python or the DB-API client), or 08001 naming `what`.

    The InterSystems DB-API/Native SDK and IRIS embedded Python both install a
    module named ``iris``; `needs` are attributes the wanted one has (the SDK:
    ``connect``, ``createIRIS``; embedded Python: ``cls``), so finding the other
    one is a clear 08001 instead of an AttributeError later.
    """
    try:
        import iris
    except ImportError as exc:
        raise WorkerError("08001", "cannot import %s: %s" % (what, exc))
    missing = [name for name in needs if not hasattr(iris, name)]
    # PyPI's iris-embedded-python-wrapper (a dependency of recent
    # sqlalchemy-iris) installs an ``iris`` whose embedded names are
    # unittest.mock objects when no IRIS runtime is loaded: every call
    # "succeeds" with a MagicMock. Treat that as the wrong module too.
    mocked = [name for name in needs if name not in missing
              and type(getattr(iris, name)).__module__.startswith("unittest.mock")]
    if mocked:
        raise WorkerError(
            "08001", "the iris module found is not %s" % what,
            detail="%s: %s is a mock (no IRIS runtime loaded)" % (
                getattr(iris, "__file__", None) or "iris", ", ".join(mocked)),
            hint="iris-embedded-python-wrapper answers with mocks outside IRIS; run the worker "
                 "with irispython inside the IRIS instance, or use the iris-native driver")
    if missing:
        raise WorkerError(
            "08001", "the iris module found is not %s" % what,
            detail="%s has no %s" % (getattr(iris, "__file__", None) or "iris", ", ".join(missing)),
            hint="the DB-API SDK (intersystems-irispython) and IRIS embedded Python share the "
                 "module name iris; check PYTHONPATH and the Python that runs the worker")
    return iris


def fetch_all(driver, sql, params):
    """Every row of a statement run on `driver`'s session (for schema readers)."""
    _, fetch = driver.execute(sql, params, False)
    rows = []
    while fetch is not None:
        batch = fetch(512)
        rows.extend(batch)
        if len(batch) < 512:
            break
    return rows
