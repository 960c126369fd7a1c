"""IRIS semantics SQLite lacks, as SQLite collations and functions.

Collations: SQLUPPER (letters compared upper-cased, trailing blanks ignored)
and SQLSTRING (trailing blanks ignored), IRIS's default string collation and
its case-sensitive sibling
(https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=GSQL_collation).

Functions, under names the stand-in's rewrites (_rewrite.py) produce:
iris_exact (%EXACT), iris_sqlupper (%SQLUPPER), iris_canon (a number in
ObjectScript canonical form, .5 not 0.5), iris_divisor (<DIVIDE> on zero),
iris_tlevel ($TLEVEL), iris_zversion ($ZVERSION), iris_getoption
(%SYSTEM_SQL.Util_GetOption), iris_data_type (INFORMATION_SCHEMA.COLUMNS),
and IRIS's own names: TO_VECTOR, VECTOR_COSINE, VECTOR_DOT_PRODUCT,
LAST_IDENTITY, DATE_TRUNC.
"""

import datetime
import decimal
import math
import struct

from . import _settings
from ._errors import IrisSqlError
from ._types import category_of


def canonical(value):
    """ObjectScript's canonical form of a number: no leading zero before the
    point, no trailing zeros, no trailing point (-0.50 -> -.5, 12.30 -> 12.3).
    https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=GCOS_types"""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = format(decimal.Decimal(repr(value) if isinstance(value, float) else value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("0."):
        text = text[1:]
    elif text.startswith("-0."):
        text = "-" + text[2:]
    return "0" if text in ("", "-0", "-") else text


def _sqlupper_key(text):
    return text.rstrip(" \t\r\n").upper()


def sqlupper(a, b):
    a, b = _sqlupper_key(a), _sqlupper_key(b)
    return (a > b) - (a < b)


def sqlstring(a, b):
    a, b = a.rstrip(" \t\r\n"), b.rstrip(" \t\r\n")
    return (a > b) - (a < b)


# --- vectors -------------------------------------------------------------------------

def _float32(value):
    """The shortest decimal that reads back as the same float32 (xf32 elements)."""
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = "%.*g" % (digits, single)
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return float(text)
    return single


def parse_vector(text):
    """The elements of a vector's text, with or without brackets."""
    text = str(text).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",")] if text.strip() else []


def _element(token, element_type):
    if element_type in ("STRING", "VARCHAR", "TIMESTAMP"):
        return token
    number = float(token)
    if element_type in ("INTEGER", "INT"):
        return int(number)  # "decimals truncated (not rounded)" (RSQL_tovector)
    return _float32(number) if element_type == "FLOAT" else number


def vector_text(elements):
    """A vector as IRIS returns it: VARCHAR, elements comma-separated, no
    brackets (caretdev/sqlalchemy-iris types.py IRISVector.result_processor
    splits on ","); numbers in canonical form (unverified)."""
    return ",".join(canonical(value) if not isinstance(value, str) else value for value in elements)


def to_vector(data, element_type=None, length=None):
    """TO_VECTOR(data [, type [, length]])
    (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_tovector):
    shorter data padded, longer truncated to length."""
    if data is None:
        return None
    element_type = (element_type or ("FLOAT" if _settings.at_least(2024, 3) else "DOUBLE")).upper()
    try:
        values = [_element(token, element_type) for token in parse_vector(data)]
    except ValueError:
        raise IrisSqlError(-1, "Invalid vector value '%s' for type %s" % (data, element_type))
    if length is not None:
        length = int(length)
        pad = "" if element_type in ("STRING", "VARCHAR") else 0
        values = (values + [pad] * length)[:length]
    return vector_text(values)


def _numbers(vector):
    try:
        return [float(token) for token in parse_vector(vector)]
    except ValueError:
        raise IrisSqlError(-258, "Cannot perform vector operation on non-numeric vectors")


def _pair(a, b):
    left, right = _numbers(a), _numbers(b)
    if len(left) != len(right):
        raise IrisSqlError(-257, "Cannot perform vector operation on vectors of different lengths")
    return left, right


def vector_dot_product(a, b):
    """VECTOR_DOT_PRODUCT (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_vectordotproduct)."""
    if a is None or b is None:
        return None
    left, right = _pair(a, b)
    return math.fsum(x * y for x, y in zip(left, right))


def vector_cosine(a, b):
    """VECTOR_COSINE (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_vectorcosine)."""
    if a is None or b is None:
        return None
    left, right = _pair(a, b)
    norms = math.sqrt(math.fsum(x * x for x in left)) * math.sqrt(math.fsum(y * y for y in right))
    return math.fsum(x * y for x, y in zip(left, right)) / norms if norms else None


def vector_length(vector):
    return None if vector is None else len(parse_vector(vector))


# --- dates -------------------------------------------------------------------------

_DATE_PARTS = {
    "year": "year", "yyyy": "year", "yy": "year", "quarter": "quarter", "qq": "quarter", "q": "quarter",
    "month": "month", "mm": "month", "m": "month", "week": "week", "wk": "week", "ww": "week",
    "weekday": "day", "dw": "day", "w": "day", "day": "day", "dd": "day", "d": "day", "dayofyear": "day",
    "dy": "day", "y": "day", "hour": "hour", "hh": "hour", "h": "hour", "minute": "minute", "mi": "minute",
    "n": "minute", "second": "second", "ss": "second", "s": "second", "millisecond": "millisecond",
    "ms": "millisecond", "microsecond": "microsecond", "mcs": "microsecond", "nanosecond": "microsecond",
    "ns": "microsecond",
}


def date_trunc(part, value):
    """DATE_TRUNC(datePart, date), IRIS's date parts
    (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_datetrunc);
    PostgreSQL-only parts (decade, century, isoyear ...) are SQLCODE -8."""
    if value is None:
        return None
    unit = _DATE_PARTS.get(str(part).strip().lower())
    if unit is None:
        raise IrisSqlError(-8, "Invalid DATEPART code '%s' for DATE_TRUNC()" % part)
    moment = datetime.datetime.fromisoformat(str(value).strip())
    if unit == "quarter":
        moment = moment.replace(month=(moment.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "week":
        moment = (moment - datetime.timedelta(days=(moment.weekday() + 1) % 7)).replace(
            hour=0, minute=0, second=0, microsecond=0)
    else:
        fields = ["year", "month", "day", "hour", "minute", "second", "millisecond", "microsecond"]
        keep = fields.index(unit)
        resets = {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
        moment = moment.replace(**{name: resets[name] for name in fields[keep + 1:6]})
        if keep < 6:
            moment = moment.replace(microsecond=0)
        elif unit == "millisecond":
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def type_argument(declared, which):
    """CHARACTER_MAXIMUM_LENGTH / NUMERIC_PRECISION / NUMERIC_SCALE of a declared type."""
    kind = category_of(declared or "")
    if kind is None:
        return None
    arguments = [int(part) for part in declared.partition("(")[2].rstrip(")").split(",") if part.strip().isdigit()]
    if which == "length" and kind[0] == "string":
        return arguments[0] if arguments else 1  # VARCHAR is %String(MAXLEN=1)
    if which in ("precision", "scale") and kind[0] == "numeric":
        if which == "precision":
            return arguments[0] if arguments else 15
        return arguments[1] if len(arguments) > 1 else 0
    return None


def register(connection, session):
    """Install the collations and functions on a sqlite3 connection. ``session``
    supplies $TLEVEL and the isolation level, and receives the last error a
    function raised (sqlite3 keeps only "user-defined function raised exception")."""

    def guarded(function):
        def call(*args):
            try:
                return function(*args)
            except IrisSqlError as error:
                session.function_error = error
                raise
        return call

    def divisor(value):
        if value is not None and value == 0:
            raise IrisSqlError(-400, "Unexpected error occurred: <DIVIDE>")
        return value

    def getoption(name):
        return session.isolation if str(name).lower() == "isolationmode" else None

    connection.create_collation("SQLUPPER", sqlupper)
    connection.create_collation("SQLSTRING", sqlstring)
    for name, arity, function in (
            ("iris_exact", 1, lambda value: value), ("iris_canon", 1, canonical),
            ("iris_sqlupper", 1, lambda value: value if value is None else " " + _sqlupper_key(str(value))),
            ("iris_divisor", 1, divisor), ("iris_tlevel", 0, lambda: session.tlevel),
            ("iris_zversion", 0, lambda: _settings.ZVERSION), ("iris_getoption", 1, getoption),
            ("iris_data_type", 1, lambda declared: (
                declared.split("(")[0].split()[0].lower() if declared and category_of(declared) else declared)),
            ("iris_type_argument", 2, type_argument), ("iris_vector_length", 1, vector_length), ("to_vector", 1, to_vector), ("to_vector", 2, to_vector),
            ("to_vector", 3, to_vector), ("vector_cosine", 2, vector_cosine),
            ("vector_dot_product", 2, vector_dot_product), ("date_trunc", 2, date_trunc),
            ("last_identity", 0, lambda: session.last_identity)):
        connection.create_function(name, arity, guarded(function), deterministic=name not in (
            "iris_tlevel", "iris_getoption", "last_identity"))
