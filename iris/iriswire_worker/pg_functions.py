"""PostgreSQL semantics on SQLite: the SQL functions the Rust translator
rewrites casts, division and ``~`` to on the sqlite backend (``pg_int``,
``pg_div``, ...), with PostgreSQL's input rules and errors."""

import math
import re

from .sqlite_errors import fail

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# PostgreSQL 16 integer input: surrounding spaces, sign, decimal digits or a
# 0x/0o/0b prefix, single underscores between digits.
_PG_INTEGER = re.compile(r"""\s*([+-]?)(?:
      0[xX](?P<hex>[0-9a-fA-F](?:_?[0-9a-fA-F])*)
    | 0[oO](?P<oct>[0-7](?:_?[0-7])*)
    | 0[bB](?P<bin>[01](?:_?[01])*)
    | (?P<dec>\d(?:_?\d)*)
)\s*\Z""", re.VERBOSE | re.ASCII)

# PostgreSQL float8/numeric input: decimal with optional exponent, NaN, Infinity.
_PG_NUMBER = re.compile(
    r"\s*[+-]?(?:(?P<mantissa>\d+\.?\d*|\.\d+)(?P<exponent>[eE][+-]?\d+)?"
    r"|(?P<nan>nan)|(?P<inf>inf|infinity))\s*\Z",
    re.ASCII | re.IGNORECASE)


def _check_int64(value):
    if not _INT64_MIN <= value <= _INT64_MAX:
        fail("22003", "integer out of range")
    return value


def _text(value, type_name):
    """The text form of a non-numeric argument; bytea has no cast to numbers."""
    if isinstance(value, bytes):
        fail("42846", "cannot cast type bytea to %s" % type_name)
    return value


def pg_int(value):
    """``value::integer``: SQLite values to a 64-bit integer, PostgreSQL's errors."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            fail("22003", "integer out of range")
        truncated = math.trunc(value)
        if abs(value - truncated) >= 0.5:  # exact: half away from zero
            truncated += 1 if value > 0 else -1
        return _check_int64(truncated)
    text = _text(value, "integer")
    match = _PG_INTEGER.match(text)
    if not match:
        fail("22P02", 'invalid input syntax for type integer: "%s"' % text)
    for group, base in (("dec", 10), ("hex", 16), ("oct", 8), ("bin", 2)):
        digits = match.group(group)
        if digits is not None:
            number = int(digits.replace("_", ""), base)
            return _check_int64(-number if match.group(1) == "-" else number)


def _parse_number(text, type_name):
    match = _PG_NUMBER.match(text)
    if not match:
        fail("22P02", 'invalid input syntax for type %s: "%s"' % (type_name, text))
    return match


def pg_float(value):
    """``value::double precision``."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return float(value)
    text = _text(value, "double precision")
    match = _parse_number(text, "double precision")
    number = float(text)
    mantissa = match.group("mantissa")
    # Overflow to infinity and underflow to zero are errors in PostgreSQL.
    if mantissa is not None and (math.isinf(number) or (number == 0.0 and re.search("[1-9]", mantissa))):
        fail("22003", '"%s" is out of range for type double precision' % text)
    return number


def pg_numeric(value):
    """``value::numeric``: integral text stays an exact integer while it fits."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = _text(value, "numeric")
    match = _parse_number(text, "numeric")
    mantissa = match.group("mantissa")
    if mantissa is not None and "." not in mantissa and match.group("exponent") is None:
        number = int(text)
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
    return float(text)  # SQLite has no wider exact type


_TRUE_WORDS, _FALSE_WORDS = ("true", "yes"), ("false", "no")


def pg_bool(value):
    """``value::boolean`` as 1/0, accepting PostgreSQL's spellings (and their prefixes)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return 1 if value else 0
    text = _text(value, "boolean")
    word = text.strip().lower()
    if word in ("1", "on") or (word and any(w.startswith(word) for w in _TRUE_WORDS)):
        return 1
    if word in ("0", "of", "off") or (word and any(w.startswith(word) for w in _FALSE_WORDS)):
        return 0
    fail("22P02", 'invalid input syntax for type boolean: "%s"' % text)


def _operand(value):
    return value if isinstance(value, (int, float)) else pg_numeric(value)


def _division_operands(a, b):
    """Numeric operands of ``/`` or ``%``; division_by_zero on a zero divisor."""
    a, b = _operand(a), _operand(b)
    if b == 0:
        fail("22012", "division by zero")
    return a, b


def pg_div(a, b):
    """``a / b``: division_by_zero on zero, integer division truncates toward zero."""
    if a is None or b is None:
        return None
    a, b = _division_operands(a, b)
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return _check_int64(quotient if (a < 0) == (b < 0) else -quotient)
    result = a / b
    if math.isinf(result) and math.isfinite(a):
        fail("22003", "value out of range: overflow")
    return result


def pg_mod(a, b):
    """``a % b``: division_by_zero on zero, the sign follows the dividend."""
    if a is None or b is None:
        return None
    a, b = _division_operands(a, b)
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(a, b)


def pg_regexp(pattern, text):
    """``text ~ pattern`` as 1/0 (Python ``re`` syntax approximates PostgreSQL's AREs)."""
    if pattern is None or text is None:
        return None
    try:
        return 1 if re.search(str(pattern), str(text)) else 0
    except re.error as exc:
        fail("2201B", "invalid regular expression: %s" % exc)
