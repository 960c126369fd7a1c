#!/usr/bin/env python3
"""iriswire bridge worker: one database session behind a framed pipe protocol.

The Rust front end starts this file (with ``python3``, or ``irispython`` inside
InterSystems IRIS) and talks to it over stdin/stdout as specified in
``docs/bridge-protocol.md``. Standard library only; Python >= 3.9.

Drivers, chosen by the ``driver`` key of ``IRISWIRE_WORKER_CONFIG``:

* ``sqlite``: stdlib sqlite3, with PostgreSQL semantics emulated by the
  ``pg_*`` SQL functions the Rust translator rewrites to;
* ``iris-embedded``: the ``iris`` module of IRIS embedded Python
  (``%SQL.Statement``);
* ``iris-native``: the ``intersystems-irispython`` DB-API client.
"""

import array
import decimal
import functools
import io
import json
import marshal
import math
import operator
import os
import re
import signal
import struct
import sys
import threading
import traceback

PROTOCOL_VERSION = 1
MAX_FRAME = 1 << 30  # docs/bridge-protocol.md: a longer frame is a protocol error
DEFAULT_BATCH_ROWS = 512
DEFAULT_BUSY_TIMEOUT_MS = 5000

_HEADER = struct.Struct(">cI")
_SQL_LENGTH = struct.Struct(">I")


def log(message):
    sys.stderr.write("iriswire-worker[%d]: %s\n" % (os.getpid(), message))
    sys.stderr.flush()


class WorkerError(Exception):
    """An error reported to the client as an ``E`` frame."""

    def __init__(self, sqlstate, message, detail=None, hint=None, backend_code=None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
        self.backend_code = backend_code


class ProtocolError(Exception):
    """The byte stream cannot be trusted any more; the worker must exit."""


# --------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------


class Channel:
    """Frames over two file descriptors: buffered reads, one write call per send."""

    def __init__(self, read_fd, write_fd):
        # Our own buffered reader on the fd: sys.stdin may be replaced by the
        # host (IRIS maps the standard streams) and must not steal bytes.
        self._reader = io.open(read_fd, "rb", buffering=1 << 16, closefd=False)
        self._write_fd = write_fd

    def read_frame(self):
        """Return ``(tag, payload)``, or None at a clean end of input."""
        header = self._reader.read(_HEADER.size)
        if not header:
            return None
        if len(header) < _HEADER.size:
            raise ProtocolError("end of input inside a frame header")
        tag, length = _HEADER.unpack(header)
        if length > MAX_FRAME:
            raise ProtocolError("frame of %d bytes exceeds the 1 GiB limit" % length)
        payload = self._reader.read(length)
        if len(payload) < length:
            raise ProtocolError("end of input inside a frame payload")
        return tag, payload

    def send(self, parts):
        """Write header/payload pieces with as few write() calls as the pipe allows."""
        view = memoryview(b"".join(parts))
        while view:
            view = view[os.write(self._write_fd, view):]


def frame(tag, payload):
    """Header and payload as separate pieces, so a send joins them once."""
    return [_HEADER.pack(tag, len(payload)), payload]


def error_frame(error, in_transaction):
    return frame(b"E", marshal.dumps((
        error.sqlstate, error.message, error.detail, error.hint,
        error.backend_code, bool(in_transaction))))


def batch_frames(rows):
    """``B`` frames for ``rows``, split in halves in the rare case one passes 1 GiB."""
    payload = marshal.dumps(rows)
    if len(payload) <= MAX_FRAME:
        return frame(b"B", payload)
    if len(rows) == 1:
        raise WorkerError("54000", "row is too large to send (over 1 GiB)")
    half = len(rows) // 2
    return batch_frames(rows[:half]) + batch_frames(rows[half:])


# --------------------------------------------------------------------------
# SQL text scanning (placeholders, first keyword) for describe and prepare
# --------------------------------------------------------------------------

_SQL_TOKEN = re.compile(r"""
      '[^']*(?:''[^']*)*'?            # string literal; unterminated runs to the end
    | "[^"]*(?:""[^"]*)*"?            # quoted identifier
    | `[^`]*(?:``[^`]*)*`?            # MySQL-style identifier (SQLite accepts it)
    | \[[^\]]*\]?                     # [identifier] (SQLite accepts it)
    | --[^\n]*                        # line comment
    | /\*.*?(?:\*/|\Z)                # block comment
    | \?(\d*)                         # placeholder: ? or ?NNN
    | ([A-Za-z_][A-Za-z0-9_$]*)       # word
""", re.VERBOSE | re.DOTALL)


def _null_marker(index):
    # NULL, spelled so that a column named after the expression (SQLite
    # names it by its source text) can be traced back to the placeholder.
    return "CAST(NULL AS _iw_p%d)" % index


class ScannedSql:
    """SQL with each placeholder replaced by a NULL marker, the parameter count, the first word."""

    __slots__ = ("nulled", "placeholders", "param_count", "first_word")

    def __init__(self, sql):
        count = 0
        placeholders = []
        words = []  # only the first is kept; comments and literals are skipped

        def substitute(match):
            nonlocal count
            number, word = match.group(1), match.group(2)
            if number is not None:
                # SQLite numbering: ?NNN is parameter NNN, a bare ? is the
                # largest number so far plus one.
                count = max(count, int(number)) if number else count + 1
                placeholders.append(match.group(0))
                return _null_marker(len(placeholders) - 1)
            if word and not words:
                words.append(word.upper())
            return match.group(0)

        self.nulled = _SQL_TOKEN.sub(substitute, sql)
        self.placeholders = placeholders
        self.param_count = count
        self.first_word = words[0] if words else ""

    def original_name(self, name):
        """A column name the NULL-marked text produced, as the original text produces it."""
        for index, placeholder in enumerate(self.placeholders):
            name = name.replace(_null_marker(index), placeholder)
        return name


_QUERY_WORDS = ("SELECT", "VALUES", "WITH")
_EMPTY_SQL = re.compile(r"(?:\s|;|--[^\n]*|/\*.*?\*/)*\Z", re.DOTALL)
_DECLARED_TYPE = re.compile(r"[^(]*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_VIEW_DUPLICATE = re.compile(r"(.*):\d+\Z", re.DOTALL)


def declared_type(decl):
    """``(type_name, precision, scale)`` from a declared type such as ``NUMERIC(10,2)``."""
    match = _DECLARED_TYPE.match(decl)
    if not match:
        return decl.strip().lower(), 0, 0
    return decl.strip().lower(), int(match.group(1)), int(match.group(2) or 0)


# --------------------------------------------------------------------------
# PostgreSQL semantics for SQLite: SQL functions the Rust translator calls
# --------------------------------------------------------------------------

# sqlite3 reports any exception raised by a SQL function only as "user-defined
# function raised exception"; the real PostgreSQL error waits here until the
# error mapping picks it up.
_function_error = None


def _fail(sqlstate, message, detail=None):
    global _function_error
    _function_error = WorkerError(sqlstate, message, detail)
    raise _function_error


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
        _fail("22003", "integer out of range")
    return value


def _text(value, type_name):
    """The text form of a non-numeric argument; bytea has no cast to numbers."""
    if isinstance(value, bytes):
        _fail("42846", "cannot cast type bytea to %s" % type_name)
    return value


def pg_int(value):
    """``value::integer``: SQLite values to a 64-bit integer, PostgreSQL's errors."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail("22003", "integer out of range")
        truncated = math.trunc(value)
        if abs(value - truncated) >= 0.5:  # exact: half away from zero
            truncated += 1 if value > 0 else -1
        return _check_int64(truncated)
    text = _text(value, "integer")
    match = _PG_INTEGER.match(text)
    if not match:
        _fail("22P02", 'invalid input syntax for type integer: "%s"' % text)
    for group, base in (("dec", 10), ("hex", 16), ("oct", 8), ("bin", 2)):
        digits = match.group(group)
        if digits is not None:
            number = int(digits.replace("_", ""), base)
            return _check_int64(-number if match.group(1) == "-" else number)


def _parse_number(text, type_name):
    match = _PG_NUMBER.match(text)
    if not match:
        _fail("22P02", 'invalid input syntax for type %s: "%s"' % (type_name, text))
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
        _fail("22003", '"%s" is out of range for type double precision' % text)
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
    _fail("22P02", 'invalid input syntax for type boolean: "%s"' % text)


def _operand(value):
    return value if isinstance(value, (int, float)) else pg_numeric(value)


def _division_operands(a, b):
    """Numeric operands of ``/`` or ``%``; division_by_zero on a zero divisor."""
    a, b = _operand(a), _operand(b)
    if b == 0:
        _fail("22012", "division by zero")
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
        _fail("22003", "value out of range: overflow")
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
        _fail("2201B", "invalid regular expression: %s" % exc)


# --------------------------------------------------------------------------
# pgvector on SQLite: IRIS's vector functions over pgvector's text form
# --------------------------------------------------------------------------
#
# The Rust translator turns pgvector SQL into IRIS vector SQL (TO_VECTOR,
# VECTOR_COSINE, VECTOR_DOT_PRODUCT; see docs/iris-vector-notes.md). On SQLite
# a vector is stored as pgvector's text form ("[1,2.5,3]") and the functions
# below answer that SQL with pgvector's input rules, errors and arithmetic:
# elements are float4, sums are float4 accumulators (taken here as the float4
# nearest to the exact sum), the final step is float8.

VECTOR_MAX_DIM = 16000  # pgvector's VECTOR_MAX_DIM

_FLOAT4 = struct.Struct("<f")
_FLOAT4_BITS = struct.Struct("<I")
_FLOAT8 = struct.Struct("<d")
_FLOAT8_BITS = struct.Struct("<Q")
_FLOAT4_HALFWAY_BITS = 0x1FFFFFFF  # double mantissa bits a normal float4 drops
_FLOAT4_MIN_NORMAL = float.fromhex("0x1p-126")
_FLOAT4_OVERFLOW = float.fromhex("0x1.ffffffp+127")  # FLT_MAX + half an ulp: rounds to infinity
_FLOAT4_MAX = float.fromhex("0x1.fffffep+127")

# One element as C strtof reads it (pgvector parses elements with strtof):
# hexadecimal or decimal, or inf/infinity/nan; spaces around it are skipped.
_VECTOR_SPACE = " \t\n\r\v\f"
_VECTOR_ELEMENT = re.compile(r"""[ \t\n\r\v\f]*(
      [+-]?0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?
    | [+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?
    | [+-]?(?:inf(?:inity)?|nan(?:\([0-9a-z_]*\))?)
)[ \t\n\r\v\f]*""", re.VERBOSE | re.IGNORECASE | re.ASCII)

# The common shape, decimal elements with or without brackets, is read with
# float() over the whole list instead of element by element; within these
# characters float() accepts exactly what strtof-then-separator accepts.
_VECTOR_SIMPLE_CHARS = re.compile(r"[0-9eE.+\- \t\n\r\v\f,]*\Z")

# TO_VECTOR's type argument: IRIS element types this emulation stores (as
# float4, pgvector's element type; INTEGER truncates like IRIS), and the IRIS
# types it cannot.
_VECTOR_TYPES = {"FLOAT": False, "DOUBLE": False, "DECIMAL": False, "INTEGER": True, "INT": True}
_VECTOR_UNSUPPORTED_TYPES = ("STRING", "VARCHAR", "TIMESTAMP")


def _float4(value):
    """The float4 nearest to a float (ties to even); OverflowError past FLT_MAX."""
    return _FLOAT4.unpack(_FLOAT4.pack(value))[0]


def _float4_sum(value):
    """A float8 sum as a float4 accumulator holds it: infinite past FLT_MAX."""
    try:
        return _FLOAT4.unpack(_FLOAT4.pack(value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _float4_neighbour(single, toward):
    """The float4 next to ``single`` in the direction of the float ``toward``."""
    bits = _FLOAT4_BITS.unpack(_FLOAT4.pack(single))[0]
    bits += 1 if abs(toward) > abs(single) else -1  # sign and magnitude: +1 is away from zero
    return _FLOAT4.unpack(_FLOAT4_BITS.pack(bits))[0]


def _exact_value(token):
    """The exact rational value of a decimal or hexadecimal element."""
    import fractions
    text = token.lower()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if not text.startswith("0x"):
        return sign * fractions.Fraction(decimal.Decimal(text))
    mantissa, _, exponent = text[2:].partition("p")
    whole, _, fraction = mantissa.partition(".")
    value = fractions.Fraction(int((whole + fraction) or "0", 16), 16 ** len(fraction))
    return sign * value * fractions.Fraction(2) ** int(exponent or "0")


def _halfway_float8(double):
    """Whether a float8 in the normal float4 range lies exactly halfway between two float4."""
    return _FLOAT8_BITS.unpack(_FLOAT8.pack(double))[0] & _FLOAT4_HALFWAY_BITS == 0x10000000


def _round_float4(token, double):
    """The float4 nearest to the exact value of ``token``, of which ``double``
    is the nearest float8: rounding twice goes wrong only when ``double`` lies
    exactly halfway between two float4, which is settled exactly here."""
    if abs(double) == _FLOAT4_OVERFLOW:
        if abs(_exact_value(token)) < _FLOAT4_OVERFLOW:
            return math.copysign(_FLOAT4_MAX, double)
        raise OverflowError(token)
    single = _float4(double)  # OverflowError past FLT_MAX
    if single == double or (abs(double) >= _FLOAT4_MIN_NORMAL and not _halfway_float8(double)):
        return single
    other = _float4_neighbour(single, double)
    halfway = (single + other) / 2  # exact: adjacent float4 are exact float8
    if double != halfway:
        return single
    exact = abs(_exact_value(token))
    if exact == abs(halfway):
        return single  # a true tie: to even, as the float8 already went
    outward = exact > abs(halfway)  # the exact value lies beyond the halfway point
    return other if (abs(other) > abs(single)) == outward else single


def _vector_element(token):
    """One element, as pgvector reads it: strtof, then no NaN and no infinity."""
    body = token.lower().lstrip("+-")
    if body.startswith("nan"):
        _fail("22000", "NaN not allowed in vector")
    if body.startswith("inf"):
        _fail("22000", "infinite value not allowed in vector")
    try:
        double = float.fromhex(token) if body.startswith("0x") else float(token)
        if math.isinf(double):
            raise OverflowError(token)
        return _round_float4(token, double)
    except OverflowError:
        _fail("22003", '"%s" is out of range for type vector' % token)


def _vector_syntax_error(text, detail=None):
    _fail("22P02", 'invalid input syntax for type vector: "%s"' % text, detail)


def _check_vector_dims(dims):
    if dims < 1:
        _fail("22000", "vector must have at least 1 dimension")
    if dims > VECTOR_MAX_DIM:
        _fail("54000", "vector cannot have more than %d dimensions" % VECTOR_MAX_DIM)


def _parse_vector_simple(text):
    """The elements of a text of decimal elements, or None to take the general path."""
    inner = text.strip(_VECTOR_SPACE)
    if inner[:1] == "[" and inner[-1:] == "]":
        inner = inner[1:-1]
    if not _VECTOR_SIMPLE_CHARS.match(inner):
        return None
    try:
        doubles = list(map(float, inner.split(",")))
    except ValueError:
        return None  # an error: the general path words it
    _check_vector_dims(len(doubles))
    magnitudes = list(map(abs, doubles))
    if max(magnitudes) >= _FLOAT4_MAX or 0.0 < min(magnitudes) < _FLOAT4_MIN_NORMAL:
        return None  # overflow, or float4 subnormals: element by element
    bits = array.array("Q")
    bits.frombytes(array.array("d", doubles).tobytes())
    if any(b & _FLOAT4_HALFWAY_BITS == 0x10000000 for b in bits):
        return None  # a float8 exactly halfway between two float4
    return tuple(array.array("f", doubles))  # C casts: nearest float4, ties to even


@functools.lru_cache(maxsize=256)
def _parse_vector(text):
    """The elements (float4 values) of pgvector's text "[1,2,3]" or IRIS's "1,2,3".

    pgvector's rules and errors (vector_in); IRIS's form, without brackets, is
    accepted as well. Cached: a query vector is read once, not once per row
    (the rows' own vectors pass through; 256 entries of 1536 dimensions are
    some 20 MB).
    """
    simple = _parse_vector_simple(text)
    if simple is not None:
        return simple
    end = len(text)
    position = 0
    while position < end and text[position] in _VECTOR_SPACE:
        position += 1
    bracketed = position < end and text[position] == "["
    if bracketed:
        position += 1
        while position < end and text[position] in _VECTOR_SPACE:
            position += 1
        if position < end and text[position] == "]":
            _check_vector_dims(0)
    elif position == end:
        _check_vector_dims(0)
    values = []
    while True:
        if len(values) == VECTOR_MAX_DIM:
            _check_vector_dims(VECTOR_MAX_DIM + 1)
        match = _VECTOR_ELEMENT.match(text, position)
        if match is None:
            _vector_syntax_error(text)
        values.append(_vector_element(match.group(1)))
        position = match.end()
        if position < end and text[position] == ",":
            position += 1
        elif bracketed and position < end and text[position] == "]":
            position += 1
            break
        elif not bracketed and position == end:
            break
        else:
            _vector_syntax_error(text)
    while position < end and text[position] in _VECTOR_SPACE:
        position += 1
    if position != end:
        _vector_syntax_error(text, "Junk after closing right brace.")
    return tuple(values)


def _vector_text(value):
    if isinstance(value, bytes):
        _fail("42846", "cannot cast type bytea to vector")
    return value if isinstance(value, str) else str(value)


def _shortest_float4_exact(value):
    """``(digits, exponent)`` of the shortest decimal that reads back as the
    float4 ``value`` (positive, finite), closest to it among equals: Ryu's
    answer, as PostgreSQL's float_to_shortest_decimal gives it. Exact
    arithmetic; the reference for the fast path below."""
    import fractions
    exact = fractions.Fraction(value)
    below = _float4_neighbour(value, 0.0) if value > float.fromhex("0x1p-149") else 0.0
    above = 2 * value - below if value == _FLOAT4_MAX else _float4_neighbour(value, math.inf)
    low = (exact + fractions.Fraction(below)) / 2
    high = (exact + fractions.Fraction(above)) / 2
    inclusive = _FLOAT4_BITS.unpack(_FLOAT4.pack(value))[0] % 2 == 0  # even mantissa
    magnitude = math.floor(math.log10(value))
    while fractions.Fraction(10) ** magnitude > exact:
        magnitude -= 1
    while fractions.Fraction(10) ** (magnitude + 1) <= exact:
        magnitude += 1
    for length in range(1, 10):
        scale = fractions.Fraction(10) ** (magnitude - length + 1)
        floor = math.floor(exact / scale)
        inside = [d for d in (floor, floor + 1)
                  if (low <= d * scale <= high if inclusive else low < d * scale < high)]
        if inside:
            # Closest to the value; an exact tie goes to the even digit.
            best = min(inside, key=lambda d: (abs(d * scale - exact), d % 2))
            digits = str(best)
            exponent = magnitude + len(digits) - length  # best may have carried into a new digit
            return digits.rstrip("0") or "0", exponent
    raise AssertionError("no float4 needs more than 9 digits")


def _shortest_float4(value):
    """Like _shortest_float4_exact; correctly rounded printf digits, the
    fewest that read back as ``value``. Only where the gap below the value is
    half the gap above it (a power of two) can another decimal of that length
    be the answer, and there the exact search decides."""
    if _FLOAT4_BITS.unpack(_FLOAT4.pack(value))[0] & 0x7FFFFF == 0:
        return _shortest_float4_exact(value)
    low, high = 1, 9
    while low < high:  # reading back is monotonic in the number of digits
        middle = (low + high) // 2
        text = "%.*e" % (middle - 1, value)
        try:
            reads_back = _round_float4(text, float(text)) == value
        except OverflowError:  # rounded up past FLT_MAX
            reads_back = False
        if reads_back:
            high = middle
        else:
            low = middle + 1
    return _printf_digits("%.*e" % (low - 1, value))


def _postgres_float4_text(negative, digits, exponent):
    """PostgreSQL's layout of shortest digits (value = d.ddd x 10**exponent):
    fixed notation for decimal exponents -4..5, else d.ddde+XX (f2s.c)."""
    sign = "-" if negative else ""
    if -4 <= exponent < 6:
        if exponent < 0:
            return "%s0.%s%s" % (sign, "0" * (-exponent - 1), digits)
        whole = digits[:exponent + 1].ljust(exponent + 1, "0")
        fraction = digits[exponent + 1:]
        return sign + whole + ("." + fraction if fraction else "")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return "%s%se%s%02d" % (sign, mantissa, "-" if exponent < 0 else "+", abs(exponent))


def _printf_digits(text):
    """``(digits, exponent)`` of printf %e output, trailing zeros dropped."""
    mantissa, _, exponent = text.partition("e")
    return mantissa.replace(".", "").rstrip("0") or "0", int(exponent)


def _format_float4_special(value):
    """The text of a float4 that needs no digit search, else None."""
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e6:
        return str(int(value))  # all its digits, fixed notation
    return None


def format_float4(value):
    """A float4 as PostgreSQL prints it (float4out with extra_float_digits
    >= 1, the default, and pgvector's vector_out): the shortest digits that
    read back exactly, closest to the value among equals (Ryu)."""
    text = _format_float4_special(value)
    if text is None:
        text = _postgres_float4_text(value < 0, *_shortest_float4(abs(value)))
    return text


def format_vector(values):
    """pgvector's text form of float4 elements: ``[1,2.5,3]``.

    format_float4 for each element, run for all elements at once, from 8
    digits down (9 always read back; vectors of embeddings mostly need 8 or
    9): the elements still pending are printed with printf, read back with
    float() and rounded to float4 by array casts; the first length that
    fails settles an element on the length above. Halfway float8s, float4
    subnormals and powers of two take format_float4's careful path.
    """
    texts = [None] * len(values)
    best = {}  # index -> the shortest printf text found so far
    pending = []
    for index, value in enumerate(values):
        text = _format_float4_special(value)
        if text is not None:
            texts[index] = text
        elif abs(value) < _FLOAT4_MIN_NORMAL or _FLOAT4_BITS.unpack(_FLOAT4.pack(value))[0] & 0x7FFFFF == 0:
            texts[index] = format_float4(value)
        else:
            best[index] = "%.8e" % abs(value)
            pending.append(index)
    for length in range(8, 0, -1):
        if not pending:
            break
        template = "%%.%de" % (length - 1)
        candidates = [template % abs(values[index]) for index in pending]
        doubles = list(map(float, candidates))
        singles = array.array("f", doubles)  # C casts: nearest float4, inf past FLT_MAX
        bits = array.array("Q")
        bits.frombytes(array.array("d", doubles).tobytes())
        still = []
        for index, candidate, double, single, pattern in zip(pending, candidates, doubles, singles, bits):
            if pattern & _FLOAT4_HALFWAY_BITS == 0x10000000 or double < _FLOAT4_MIN_NORMAL:
                try:
                    single = _round_float4(candidate, double)
                except OverflowError:
                    single = math.inf
            if single == abs(values[index]):
                best[index] = candidate
                still.append(index)
        pending = still
    for index, candidate in best.items():
        texts[index] = _postgres_float4_text(values[index] < 0, *_printf_digits(candidate))
    return "[" + ",".join(texts) + "]"


def _vector_length(length):
    """TO_VECTOR's length argument, checked as pgvector checks vector(n)."""
    if isinstance(length, float) and length.is_integer():
        length = int(length)
    elif isinstance(length, str) and re.match(r"\s*[+-]?\d+\s*\Z", length):
        length = int(length)
    if not isinstance(length, int):
        _fail("22023", "invalid type modifier")
    if length < 1:
        _fail("22023", "dimensions for type vector must be at least 1")
    if length > VECTOR_MAX_DIM:
        _fail("22023", "dimensions for type vector cannot exceed %d" % VECTOR_MAX_DIM)
    return length


@functools.lru_cache(maxsize=256)
def _to_vector(text, element_type, length):
    if not isinstance(element_type, str):
        _fail("22023", "invalid vector element type: %s" % (
            "NULL" if element_type is None else element_type))
    name = element_type.strip().upper()
    if name in _VECTOR_UNSUPPORTED_TYPES:
        _fail("0A000", 'vector element type "%s" is not supported' % element_type)
    if name not in _VECTOR_TYPES:
        _fail("22023", 'invalid vector element type: "%s"' % element_type)
    values = _parse_vector(text)
    if length is not None:
        expected = _vector_length(length)
        if expected != len(values):
            _fail("22000", "expected %d dimensions, not %d" % (expected, len(values)))
    if _VECTOR_TYPES[name]:  # IRIS truncates toward zero when the type is INTEGER
        values = tuple(_float4(float(math.trunc(v))) for v in values)
    return format_vector(values)


def to_vector(data, element_type="FLOAT", length=None):
    """IRIS ``TO_VECTOR(data [, type [, length]])``: pgvector text or IRIS
    text in, pgvector's text form out (the stored form of a vector on SQLite).
    ``type`` arrives quoted ('FLOAT'); ``length`` must match, as vector(n)
    makes it in PostgreSQL (IRIS instead pads or truncates)."""
    if data is None:
        return None
    return _to_vector(_vector_text(data), element_type, length)


def _vector_pair(a, b):
    x = _parse_vector(_vector_text(a))
    y = _parse_vector(_vector_text(b))
    if len(x) != len(y):
        _fail("22000", "different vector dimensions %d and %d" % (len(x), len(y)))
    return x, y


def vector_dot_product(a, b):
    """IRIS ``VECTOR_DOT_PRODUCT``: pgvector's inner_product (a float4 sum)."""
    if a is None or b is None:
        return None
    x, y = _vector_pair(a, b)
    # float4 * float4 is exact in float8; fsum is the exact sum, rounded once.
    return _float4_sum(math.fsum(map(operator.mul, x, y)))


def vector_cosine(a, b):
    """IRIS ``VECTOR_COSINE``: the cosine similarity, computed as pgvector's
    cosine_distance computes it (so ``1 - VECTOR_COSINE(a, b)`` is
    ``a <=> b``): float4 sums, float8 division, clamped to [-1, 1]. Where
    pgvector's answer is NaN (a zero vector, float4 overflow) this is NULL,
    which is also what SQLite makes of a NaN."""
    if a is None or b is None:
        return None
    x, y = _vector_pair(a, b)
    similarity = _float4_sum(math.fsum(map(operator.mul, x, y)))
    norm_a = _float4_sum(math.fsum(map(operator.mul, x, x)))
    norm_b = _float4_sum(math.fsum(map(operator.mul, y, y)))
    denominator = math.sqrt(norm_a * norm_b)
    if denominator == 0.0 or math.isnan(denominator):
        return None
    result = similarity / denominator
    if math.isnan(result):
        return None
    return max(-1.0, min(1.0, result))


def vector_l2(a, b):
    """pgvector's l2_distance (``a <-> b``); IRIS has no such SQL function,
    hence the name ``iriswire_vector_l2``. float4 differences and sum, float8
    square root."""
    if a is None or b is None:
        return None
    x, y = _vector_pair(a, b)
    differences = array.array("f", map(operator.sub, x, y))  # C casts: float4, inf past FLT_MAX
    return math.sqrt(_float4_sum(math.fsum(map(operator.mul, differences, differences))))


def vector_dims(a):
    """pgvector's ``vector_dims``."""
    if a is None:
        return None
    return len(_parse_vector(_vector_text(a)))


SQLITE_FUNCTIONS = (
    ("pg_div", 2, pg_div),
    ("pg_mod", 2, pg_mod),
    ("pg_int", 1, pg_int),
    ("pg_float", 1, pg_float),
    ("pg_numeric", 1, pg_numeric),
    ("pg_bool", 1, pg_bool),
    ("pg_regexp", 2, pg_regexp),
    ("to_vector", 1, to_vector),
    ("to_vector", 2, to_vector),
    ("to_vector", 3, to_vector),
    ("vector_cosine", 2, vector_cosine),
    ("vector_dot_product", 2, vector_dot_product),
    ("iriswire_vector_l2", 2, vector_l2),
    ("vector_dims", 1, vector_dims),
)


# --------------------------------------------------------------------------
# SQLite errors -> SQLSTATE
# --------------------------------------------------------------------------

CANCEL_MESSAGE = "canceling statement due to user request"

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


def _sqlite3():
    # Imported on first use: an IRIS host's Python need not have sqlite3.
    import sqlite3
    return sqlite3


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
        sqlstate = "23000" if isinstance(exc, _sqlite3().IntegrityError) else "XX000"
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


# --------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------
#
# A driver has ``name``, ``server_version``, ``cancel`` (a callable safe to
# run from another thread, or None) and:
#   execute(sql, params, describe) -> (columns, fetch): columns is None for a
#       statement without rows, else fetch(n) returns up to n row tuples;
#   rowcount() after the rows are read; in_transaction();
#   prepare(sql) -> (columns, params); close().
# Backend failures surface as WorkerError.


class SqliteDriver:
    name = "sqlite"

    def __init__(self, config):
        sqlite3 = _sqlite3()
        database = config.get("database")
        if not database:
            raise WorkerError("F0000", 'the sqlite driver needs "database" in IRISWIRE_WORKER_CONFIG')
        busy_timeout_ms = config.get("busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS)
        if not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
            raise WorkerError("F0000", "busy_timeout_ms must be a non-negative integer")
        try:
            # isolation_level=None: BEGIN/COMMIT come from the client, never
            # implicitly from sqlite3. check_same_thread=False: interrupt()
            # is called from the cancel thread.
            self._conn = sqlite3.connect(
                database, isolation_level=None, check_same_thread=False,
                cached_statements=1024, timeout=busy_timeout_ms / 1000.0)
            self._conn.execute("PRAGMA busy_timeout = %d" % busy_timeout_ms)
            self._conn.execute("PRAGMA journal_mode = WAL")  # readers and a writer in parallel
            self._conn.execute("PRAGMA foreign_keys = ON")  # PostgreSQL always enforces them
            for function_name, arity, function in SQLITE_FUNCTIONS:
                self._conn.create_function(function_name, arity, function, deterministic=True)
            # PostgreSQL's session functions, answered from what the front end
            # passed in (the SQL is rewritten to call these).
            session = {
                "version": "PostgreSQL %s (iriswire %s, SQLite %s)" % (
                    config.get("pg_version", "16.6"), config.get("iriswire_version", "?"),
                    sqlite3.sqlite_version),
                "current_database": config.get("database_name", "postgres"),
                "current_schema": "public",
                "current_user": config.get("user", ""),
            }
            for function_name, value in session.items():
                self._conn.create_function(function_name, 0, lambda value=value: value, deterministic=True)
            self._conn.create_function("pg_backend_pid", 0, os.getpid, deterministic=True)
        except Exception as exc:
            raise sqlite_error(exc) from exc
        self._cursor = self._conn.cursor()
        self._total_changes = 0
        self.cancel = self._conn.interrupt
        self.server_version = sqlite3.sqlite_version

    def execute(self, sql, params, describe):
        try:
            declared = None
            if describe:
                scanned = ScannedSql(sql)
                if scanned.first_word in _QUERY_WORDS:
                    declared = self._view_columns(scanned)
            self._total_changes = self._conn.total_changes
            cursor = self._cursor.execute(sql, params)
            description = cursor.description
        except Exception as exc:
            raise sqlite_error(exc) from exc
        if description is None:
            return None, None
        if declared is None or len(declared) != len(description):
            columns = tuple((d[0], "", 0, 0, 0, 2) for d in description)
        else:  # names as executed, types as declared
            columns = tuple((d[0],) + c[1:] for d, c in zip(description, declared))
        return columns, self._fetch

    def _fetch(self, count):
        try:
            return self._cursor.fetchmany(count)
        except Exception as exc:
            raise sqlite_error(exc) from exc

    def rowcount(self):
        count = self._cursor.rowcount
        if count <= 0 and self._conn.total_changes != self._total_changes:
            # sqlite3 misses the count of DML it does not recognise by its
            # first keyword (WITH ... INSERT) and, before Python 3.10, of
            # DML with RETURNING. Only DML moves total_changes; changes() is
            # the finished statement's own count, without trigger changes.
            count = self._conn.execute("SELECT changes()").fetchone()[0]
        return count

    def in_transaction(self):
        return self._conn.in_transaction

    def _view_columns(self, scanned):
        """``(name, type, 0, precision, scale, 2)`` per column of a query, via a TEMP VIEW.

        sqlite3 does not expose sqlite3_column_decltype, but a view's
        PRAGMA table_info reports the declared type of every column that is a
        plain table column. Views cannot hold parameters, hence the NULL markers.
        Returns None when the text does not make a view.
        """
        conn = self._conn
        try:
            conn.execute("CREATE TEMP VIEW _iw_describe AS " + scanned.nulled)
            info = conn.execute("PRAGMA temp.table_info(_iw_describe)").fetchall()
        except _sqlite3().Error:
            return None
        finally:
            conn.execute("DROP VIEW IF EXISTS temp._iw_describe")
        seen = set()
        columns = []
        for row in info:
            name = row[1]
            # A view renames a repeated column "a" to "a:1"; undo that.
            match = _VIEW_DUPLICATE.match(name)
            if match and match.group(1) in seen:
                name = match.group(1)
            seen.add(name)
            name = scanned.original_name(name)
            type_name, precision, scale = declared_type(row[2])
            columns.append((name, type_name, 0, precision, scale, 2))
        return tuple(columns)

    def prepare(self, sql):
        if _EMPTY_SQL.match(sql):
            return (), None  # as executing it: nothing happens
        scanned = ScannedSql(sql)
        if scanned.first_word == "PRAGMA":
            return None, None  # many pragmas take effect while being compiled
        try:
            if scanned.first_word == "EXPLAIN":
                # Running EXPLAIN never runs the statement it explains.
                description = self._conn.execute(sql, (None,) * scanned.param_count).description
                return tuple((d[0], "", 0, 0, 0, 2) for d in description), None
            # EXPLAIN compiles the statement, with exactly the errors execution
            # would raise, and lists its program without running it.
            program = self._conn.execute("EXPLAIN " + sql, (None,) * scanned.param_count).fetchall()
        except Exception as exc:
            raise sqlite_error(exc) from exc
        if not any(instruction[1] == "ResultRow" for instruction in program):
            return (), None
        if scanned.first_word in _QUERY_WORDS:
            return self._view_columns(scanned), None
        return None, None  # RETURNING: SQLite names its columns only when it runs

    def close(self):
        try:
            if self._conn.in_transaction:
                self._conn.rollback()
        finally:
            self._conn.close()


# --- InterSystems IRIS ----------------------------------------------------

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
_BINARY_CODES = frozenset((-2, -3, -4))
_BOOLEAN_CODES = frozenset((-7, 16))

# SQLCODE -> SQLSTATE. SQLCODE meanings from the IRIS "SQL Error Messages"
# reference.
IRIS_SQLSTATES = {
    -1: "42601", -2: "42601", -3: "42601", -4: "42601", -5: "42601", -6: "42601",
    -7: "42601", -8: "42601", -9: "42601", -10: "42601", -11: "42601", -12: "42601",
    -13: "42601", -14: "42601", -15: "42601", -16: "42601", -17: "42601", -18: "42601",
    -19: "42803",   # aggregate in WHERE/GROUP BY
    -20: "42712",   # name conflict in FROM
    -22: "42601", -23: "42P01", -24: "42702", -25: "42601", -26: "42601",
    -27: "42702",   # ambiguous field
    -28: "42601",
    -29: "42703",   # field not found
    -30: "42P01",   # table or view not found
    -31: "42703", -33: "42703",
    -35: "0A000", -36: "0A000", -37: "0A000", -40: "0A000",
    -51: "42601",
    -99: "42501",   # privilege violation
    -101: "24000", -102: "24000", -103: "24000",
    -107: "428C9",  # cannot update the RowID
    -108: "23502",  # required field missing
    -110: "55P03", -114: "55P03",  # lock conflicts
    -111: "428C9", -112: "42501", -116: "42601", -117: "0A000", -118: "42704",
    -119: "23505", -120: "23505", -125: "23505",  # unique / primary key
    -121: "23503", -122: "23503", -123: "23503", -124: "23503", -127: "23503",
    -126: "2BP01",
    -130: "09000", -131: "09000", -132: "09000", -133: "09000", -134: "09000", -135: "09000",
    -136: "44000", -137: "44000",  # WITH CHECK OPTION
    -138: "428C9",
    -139: "40001",  # row version changed under us
    -140: "22011", -141: "22P02", -144: "0A000",
    -149: "38000",  # an SQL function raised an error
    -201: "42P07",  # table or view name not unique
    -257: "22000",  # vectors of different lengths (pgvector: "different vector dimensions")
    -258: "42804", -259: "42804",  # a non-numeric vector; vectors of different element types
    -306: "42701", -311: "42701", -307: "42P16", -315: "42704", -324: "42P07",
    -359: "42883",  # user defined SQL function does not exist
    -400: "XX000",
    -401: "08006", -402: "28P01", -405: "08006", -406: "08006", -407: "08006", -408: "08001",
    -417: "42501", -428: "42883", -429: "42883",
    -450: "57014",  # request timed out
    -461: "08006",
}

# ObjectScript errors behind SQLCODE -400 that have a precise SQLSTATE.
_IRIS_SYSTEM_ERRORS = (("<DIVIDE>", "22012"), ("<MAXNUMBER>", "22003"))

_STATUS_SQLCODE = re.compile(r"SQLCODE:?\s*<?(-?\d+)>?")
_STATUS_MESSAGE = re.compile(r"Message:\s*(.*)", re.DOTALL)
_DBAPI_MSG = re.compile(r"\[%msg:\s*<(.*?)>\]", re.DOTALL)
_DBAPI_TEXT = re.compile(r"\[SQLCODE:\s*<-?\d+>:<(.*?)>\]", re.DOTALL)


def iris_error(sqlcode, message):
    """WorkerError for an IRIS SQLCODE and %msg."""
    message = (message or "").strip()
    sqlstate = IRIS_SQLSTATES.get(sqlcode)
    if sqlcode == -400:
        sqlstate = next((s for marker, s in _IRIS_SYSTEM_ERRORS if marker in message), sqlstate)
    elif sqlcode == -104 or sqlcode == -105:  # field validation failed
        if "MAXLEN" in message or "length longer" in message:
            sqlstate = "22001"
        elif "MAXVAL" in message or "MINVAL" in message:
            sqlstate = "22003"
        else:
            sqlstate = "22P02"
    if sqlstate is None:
        sqlstate = "42000" if -99 <= sqlcode <= -1 else "XX000"
    return WorkerError(sqlstate, message or "SQLCODE %d" % sqlcode,
                       detail="SQLCODE: %d" % sqlcode, backend_code=sqlcode)


def iris_status_error(text):
    """WorkerError for a failed %Status (``ERROR #5540: SQLCODE: -30 Message: ...``)."""
    code = _STATUS_SQLCODE.search(text)
    if code is None:
        return WorkerError("XX000", text)
    message = _STATUS_MESSAGE.search(text)
    return iris_error(int(code.group(1)), message.group(1) if message else text)


def iris_exception(exc):
    """WorkerError for an exception from the IRIS client or the embedded bridge.

    The DB-API driver words errors as ``[SQLCODE: <-30>:<Table or view not
    found>] [Location: <Prepare>] [%msg: <Table 'SQLUSER.X' not found>]``;
    some versions also set ``sqlcode`` on the exception.
    """
    text = str(exc)
    sqlcode = getattr(exc, "sqlcode", None)
    if sqlcode is None:
        match = _STATUS_SQLCODE.search(text)
        if match is None:
            return WorkerError("XX000", text)
        sqlcode = int(match.group(1))
    message = _DBAPI_MSG.search(text) or _DBAPI_TEXT.search(text)
    return iris_error(-abs(int(sqlcode)), message.group(1) if message else text)


def _pg_text(value):
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


def _objectscript_value(value):
    """The embedded value the protocol carries: ObjectScript "" is SQL NULL, $C(0) is ''."""
    if value == "":
        return None
    if value == "\x00":
        return ""
    return _pg_text(value)


def _objectscript_binary(value):
    value = _objectscript_value(value)
    return value.encode("latin-1") if isinstance(value, str) else value


def _objectscript_boolean(value):
    value = _objectscript_value(value)
    return None if value is None else bool(int(value))


def _objectscript_param(value):
    """A protocol parameter as %SQL.Statement expects it."""
    if value is None:
        return ""
    if value == "":
        return "\x00"
    if isinstance(value, bool):
        return int(value)
    return value


def _embedded_get(obj, name):
    return getattr(obj, name.replace("%", "_"))


def _embedded_call(obj, method, *args):
    return getattr(obj, method.replace("%", "_"))(*args)


def _native_get(obj, name):
    return obj.get(name)


def _native_call(obj, method, *args):
    return obj.invoke(method, *args)


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


# %SQL.StatementMetadata.statementType of INSERT, UPDATE, DELETE.
_DML_STATEMENT_TYPES = frozenset((2, 3, 4))

_TRANSACTION_START = re.compile(r"\s*(START\s+TRANSACTION|BEGIN)\b", re.IGNORECASE)
_TRANSACTION_END = re.compile(r"\s*(COMMIT|ROLLBACK(?!\s+TO\b))\b", re.IGNORECASE)


def transaction_after(sql, in_transaction):
    """Transaction state after ``sql`` succeeded, from its leading keywords."""
    if _TRANSACTION_START.match(sql):
        return True
    if _TRANSACTION_END.match(sql):
        return False
    return in_transaction


class IrisEmbeddedDriver:
    """IRIS through the ``iris`` module of embedded Python (run under irispython)."""

    name = "iris-embedded"
    cancel = None  # a running ObjectScript statement cannot be interrupted from Python

    def __init__(self, config):
        iris = _import_iris("the iris module of IRIS embedded Python; start the worker with irispython")
        self._iris = iris
        namespace = config.get("namespace")
        if namespace:
            if not iris.cls("%SYS.Namespace").Exists(namespace):
                raise WorkerError("3D000", 'namespace "%s" does not exist' % namespace)
            iris.system.Process.SetNamespace(namespace)
        self._status = iris.cls("%SYSTEM.Status")
        self._statement = iris.cls("%SQL.Statement")
        self.server_version = str(iris.cls("%SYSTEM.Version").GetNumber())
        self._result = None
        self._converters = ()
        self._rowcount = -1

    def _prepare(self, sql):
        # Select mode 1 (ODBC): dates, times and timestamps as ISO text, which
        # is also how PostgreSQL prints them. A fresh statement per request:
        # IRIS keeps its own cache of prepared queries.
        statement = self._statement._New(1)
        status = statement._Prepare(sql)
        if self._status.IsError(status):
            raise iris_status_error(str(self._status.GetErrorText(status)))
        return statement

    def execute(self, sql, params, describe):
        self._result = None
        try:
            statement = self._prepare(sql)
            columns, _, statement_type = statement_metadata(statement, _embedded_get, _embedded_call)
            result = statement._Execute(*[_objectscript_param(p) for p in params])
            if result._SQLCODE < 0:
                raise iris_error(result._SQLCODE, result._Message)
            self._rowcount = result._ROWCOUNT if statement_type in _DML_STATEMENT_TYPES else -1
        except WorkerError:
            raise
        except Exception as exc:
            raise iris_exception(exc) from exc
        if not columns:
            return None, None
        self._result = result
        self._converters = tuple(
            (index, _objectscript_binary if c[2] in _BINARY_CODES
             else _objectscript_boolean if c[2] in _BOOLEAN_CODES else _objectscript_value)
            for index, c in enumerate(columns, 1))
        return columns, self._fetch

    def _fetch(self, count):
        result, converters, rows = self._result, self._converters, []
        try:
            # No bound-method caching: the embedded bridge tracks one current
            # method per object, so result._Next and result._GetData are looked
            # up afresh each time.
            while len(rows) < count and result._Next():
                rows.append(tuple(convert(result._GetData(i)) for i, convert in converters))
            if result._SQLCODE < 0:
                raise iris_error(result._SQLCODE, result._Message)
        except WorkerError:
            raise
        except Exception as exc:
            raise iris_exception(exc) from exc
        return rows

    def rowcount(self):
        return self._rowcount

    def in_transaction(self):
        return self._iris.tlevel() > 0

    def prepare(self, sql):
        try:
            columns, params, _ = statement_metadata(self._prepare(sql), _embedded_get, _embedded_call)
        except WorkerError:
            raise
        except Exception as exc:
            raise iris_exception(exc) from exc
        return columns, params

    def close(self):
        if self.in_transaction():
            self._iris.trollback()


class IrisNativeDriver:
    """IRIS over the network through the intersystems-irispython DB-API."""

    name = "iris-native"
    cancel = None  # the DB-API has no cancel; the Rust side replaces the worker

    def __init__(self, config):
        iris = _import_iris("the intersystems-irispython package")
        try:
            # autoCommit: each statement commits unless the client opened a
            # transaction with START TRANSACTION, as in PostgreSQL.
            self._conn = iris.connect(
                hostname=config.get("host", "localhost"), port=int(config.get("port", 1972)),
                namespace=config.get("namespace", "USER"), username=config.get("username", ""),
                password=config.get("password", ""), autoCommit=True)
            self._native = iris.createIRIS(self._conn)
            self.server_version = str(self._native.classMethodValue("%SYSTEM.Version", "GetNumber"))
        except Exception as exc:
            raise _iris_connect_error(exc, config.get("namespace", "USER")) from exc
        self._cursor = self._conn.cursor()
        self._converters = None
        self._rowcount = -1
        self._in_transaction = False

    def execute(self, sql, params, describe):
        cursor = self._cursor
        try:
            if params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)
            description = cursor.description
            self._rowcount = -1 if description else cursor.rowcount
        except Exception as exc:
            raise iris_exception(exc) from exc
        self._in_transaction = transaction_after(sql, self._in_transaction)
        if not description:
            return None, None
        columns = tuple(
            (str(d[0]), ODBC_TYPE_NAMES.get(d[1] or 0, ""), int(d[1] or 0), int(d[4] or 0),
             int(d[5] or 0), 2 if d[6] is None else int(bool(d[6])))
            for d in description)
        # Only decimal and date/time columns need converting; the rest pass as is.
        self._converters = tuple(
            index for index, c in enumerate(columns)
            if c[2] in (2, 3, 9, 10, 11, 91, 92, 93, 1091, 1092, 1093)) or None
        return columns, self._fetch

    def _fetch(self, count):
        try:
            rows = self._cursor.fetchmany(count)
        except Exception as exc:
            raise iris_exception(exc) from exc
        if self._converters is None:
            return [tuple(row) for row in rows]  # the driver's rows are DataRow objects
        converted = []
        for row in rows:
            values = list(row)
            for index in self._converters:
                values[index] = _pg_text(values[index])
            converted.append(tuple(values))
        return converted

    def rowcount(self):
        return self._rowcount

    def in_transaction(self):
        return self._in_transaction

    def prepare(self, sql):
        # The DB-API cannot describe without executing; a %SQL.Statement made
        # through the Native SDK can.
        native = self._native
        try:
            statement = native.classMethodObject("%SQL.Statement", "%New", 1)
            status = statement.invoke("%Prepare", sql)
            if native.classMethodValue("%SYSTEM.Status", "IsError", status):
                raise iris_status_error(str(native.classMethodValue("%SYSTEM.Status", "GetErrorText", status)))
            columns, params, _ = statement_metadata(statement, _native_get, _native_call)
        except WorkerError:
            raise
        except Exception as exc:
            raise iris_exception(exc) from exc
        return columns, params

    def close(self):
        try:
            if self._in_transaction:
                self._cursor.execute("ROLLBACK")
        finally:
            self._conn.close()


def _import_iris(what):
    try:
        import iris
    except ImportError as exc:
        raise WorkerError("08001", "cannot import %s: %s" % (what, exc))
    return iris


def _iris_connect_error(exc, namespace):
    text = str(exc)
    lowered = text.lower()
    if "namespace" in lowered:
        return WorkerError("3D000", 'namespace "%s" does not exist' % namespace, detail=text)
    if "access denied" in lowered or "password" in lowered or "authentication" in lowered:
        return WorkerError("28P01", "IRIS rejected the username or password", detail=text)
    return WorkerError("08001", "could not connect to IRIS: %s" % text)


# --------------------------------------------------------------------------
# Catalog: the slice of PostgreSQL's pg_catalog that drivers read
# --------------------------------------------------------------------------
#
# Drivers look types up in pg_type (tokio-postgres for any OID it does not
# know, psycopg's TypeInfo.fetch, pgvector-python's register_vector). Neither
# IRIS nor SQLite has pg_catalog, so every worker keeps a small in-memory
# SQLite copy of it, with pgvector's `vector` as a user type (OID 16385,
# matching the front end's catalog). The front end passes such statements on
# untranslated; they are recognised here and run on the catalog, whatever
# the backend.

_CATALOG_SQL = re.compile(
    r"pg_catalog\.|\bpg_type\b|\bpg_namespace\b|\bpg_range\b|\bto_regtype\s*\(|::\s*regtype",
    re.IGNORECASE)

# (oid, name, length, category, array oid, regtype text)
_CATALOG_TYPES = (
    (16, "bool", 1, "B", 1000, "boolean"),
    (17, "bytea", -1, "U", 1001, "bytea"),
    (18, "char", 1, "Z", 1002, '"char"'),
    (19, "name", 64, "S", 1003, "name"),
    (20, "int8", 8, "N", 1016, "bigint"),
    (21, "int2", 2, "N", 1005, "smallint"),
    (23, "int4", 4, "N", 1007, "integer"),
    (25, "text", -1, "S", 1009, "text"),
    (26, "oid", 4, "N", 1028, "oid"),
    (114, "json", -1, "U", 199, "json"),
    (700, "float4", 4, "N", 1021, "real"),
    (701, "float8", 8, "N", 1022, "double precision"),
    (1042, "bpchar", -1, "S", 1014, "character"),
    (1043, "varchar", -1, "S", 1015, "character varying"),
    (1082, "date", 4, "D", 1182, "date"),
    (1083, "time", 8, "D", 1183, "time without time zone"),
    (1114, "timestamp", 8, "D", 1115, "timestamp without time zone"),
    (1184, "timestamptz", 8, "D", 1185, "timestamp with time zone"),
    (1560, "bit", -1, "V", 1561, "bit"),
    (1562, "varbit", -1, "V", 1563, "bit varying"),
    (1700, "numeric", -1, "N", 1231, "numeric"),
    (2950, "uuid", 16, "U", 2951, "uuid"),
    (3802, "jsonb", -1, "U", 3807, "jsonb"),
    (16385, "vector", -1, "U", 16386, "vector"),
)
_PUBLIC_NAMESPACE = 2200
_CATALOG_NAMESPACE = 11
_VECTOR_OID = 16385

# Type names to_regtype() accepts besides pg_type.typname.
_REGTYPE_ALIASES = {
    "boolean": "bool", "bigint": "int8", "smallint": "int2", "integer": "int4", "int": "int4",
    "real": "float4", "double precision": "float8", "character varying": "varchar",
    "character": "bpchar", "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz", "time without time zone": "time",
    "bit varying": "varbit", "decimal": "numeric", '"char"': "char",
}

# PostgreSQL spellings SQLite lacks, in catalog statements only, applied in
# this order. regtype is an OID that prints as the type's name, so what a
# cast means depends on where it stands; the rules follow how drivers write
# it: a column cast to regtype (`oid::regtype::text`, `typelem::regtype`) is
# displayed, a literal or parameter cast to regtype ('vector'::regtype,
# `t.oid = ?::regtype`) is compared with OIDs.
# A column reference, not the type name of an earlier cast (`?::text::regtype`).
_CAST_OPERAND = r"(?<![\w.:])([A-Za-z_][\w.]*)"
_CATALOG_REWRITES = (
    (re.compile(r"\bpg_catalog\.", re.IGNORECASE), ""),
    # column::regtype[::text]: the type's display name.
    (re.compile(_CAST_OPERAND + r"\s*::\s*regtype(?:\s*::\s*(?:text|varchar|name))?(?!\s*::\s*oid)\b",
                re.IGNORECASE),
     r"iriswire_regtype_name(\1)"),
    # column::regtype::oid is the column itself.
    (re.compile(_CAST_OPERAND + r"\s*::\s*regtype\s*::\s*oid\b", re.IGNORECASE), r"\1"),
    # 'name'::regtype::oid, ?::text::regtype: the type's OID, an error if unknown
    # (42704, as in PostgreSQL; to_regtype() is the lenient spelling).
    (re.compile(r"('(?:[^']|'')*'|\?)(?:\s*::\s*(?:text|varchar|name))?\s*::\s*regtype\s*::\s*oid\b",
                re.IGNORECASE),
     r"iriswire_regtype_oid(\1)"),
    (re.compile(r"('(?:[^']|'')*'|\?)(?:\s*::\s*(?:text|varchar|name))?\s*::\s*regtype\b", re.IGNORECASE),
     r"iriswire_regtype(\1)"),
    # Casts between SQLite's integers and texts are no-ops.
    (re.compile(r"::\s*(?:oid|regclass|regproc|name|text|varchar|int[248]|\"char\")\b", re.IGNORECASE), ""),
)

# SQLite labels an expression column by its source text, so a rewritten one
# would be called `iriswire_regtype_oid('vector')`; PostgreSQL calls a cast
# after its operand's column, else after the type, and a function after the
# function.
_CATALOG_LABEL = re.compile(
    r"(iriswire_regtype_name|iriswire_regtype_oid|iriswire_regtype|to_regtype)\((.*)\)\Z",
    re.IGNORECASE | re.DOTALL)
_CATALOG_LABELS = {"iriswire_regtype_oid": "oid", "iriswire_regtype": "regtype",
                   "to_regtype": "to_regtype"}
_IDENTIFIER = re.compile(r"(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)\Z")


def _catalog_label(name):
    match = _CATALOG_LABEL.match(name)
    if match is None:
        return name
    function = match.group(1).lower()
    if function == "iriswire_regtype_name":
        column = _IDENTIFIER.match(match.group(2).strip())
        return column.group(1) if column else "text"
    return _CATALOG_LABELS[function]


def _catalog_type_name(name):
    if name is None:
        return None
    text = str(name).strip()
    lowered = text.lower()
    for prefix in ("pg_catalog.", "public."):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix):]
    return _REGTYPE_ALIASES.get(lowered, lowered)


class Catalog:
    """An in-memory pg_catalog (pg_type, pg_namespace, pg_range) on SQLite."""

    def __init__(self):
        sqlite3 = _sqlite3()
        self._conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn = self._conn
        # Declared types name PostgreSQL's (`pg_char` is "char"), so results
        # are described with the types drivers expect (tokio-postgres reads
        # typtype as "char", OIDs as oid).
        conn.execute(
            "CREATE TABLE pg_namespace (oid oid PRIMARY KEY, nspname name, nspowner oid)")
        conn.execute(
            "CREATE TABLE pg_type (oid oid PRIMARY KEY, typname name, typnamespace oid,"
            " typowner oid, typlen smallint, typbyval boolean, typtype pg_char,"
            " typcategory pg_char, typispreferred boolean, typisdefined boolean,"
            " typdelim pg_char, typrelid oid, typelem oid, typarray oid,"
            " typinput text, typoutput text, typreceive text, typsend text,"
            " typbasetype oid, typtypmod integer, typndims integer, typnotnull boolean,"
            " typcollation oid)")
        conn.execute(
            "CREATE TABLE pg_range (rngtypid oid PRIMARY KEY, rngsubtype oid,"
            " rngmultitypid oid, rngcollation oid, rngsubopc oid)")
        conn.executemany("INSERT INTO pg_namespace VALUES (?, ?, 10)", (
            (_CATALOG_NAMESPACE, "pg_catalog"), (_PUBLIC_NAMESPACE, "public")))
        rows = []
        for oid, name, length, category, array, _ in _CATALOG_TYPES:
            namespace = _PUBLIC_NAMESPACE if oid == _VECTOR_OID else _CATALOG_NAMESPACE
            byval = 0 < length <= 8
            for row_oid, row_name, row_len, row_cat, elem, arr in (
                    (oid, name, length, category, 0, array),
                    (array, "_" + name, -1, "A", oid, 0)):
                rows.append((row_oid, row_name, namespace, 10, row_len, byval and row_cat != "A",
                             "b", row_cat, 0, 1, ",", 0, elem, arr,
                             row_name + "_in", row_name + "_out", row_name + "_recv",
                             row_name + "_send", 0, -1, 0, 0, 0))
        conn.executemany("INSERT INTO pg_type VALUES (%s)" % ",".join("?" * 23), rows)
        by_name = {name: oid for oid, name, *_ in _CATALOG_TYPES}
        by_name.update({"_" + name: array for _, name, _, _, array, _ in _CATALOG_TYPES})
        display = {oid: shown for oid, _, _, _, _, shown in _CATALOG_TYPES}
        display.update({array: shown + "[]" for _, _, _, _, array, shown in _CATALOG_TYPES})

        def to_regtype(name):
            return by_name.get(_catalog_type_name(name))

        def regtype_strict(name):
            oid = to_regtype(name)
            if oid is None and name is not None:
                _fail("42704", 'type "%s" does not exist' % name)
            return oid

        def regtype_name(oid):
            if oid is None:
                return None
            return display.get(int(oid), str(oid))

        conn.create_function("to_regtype", 1, to_regtype, deterministic=True)
        conn.create_function("iriswire_regtype", 1, regtype_strict, deterministic=True)
        conn.create_function("iriswire_regtype_oid", 1, regtype_strict, deterministic=True)
        conn.create_function("iriswire_regtype_name", 1, regtype_name, deterministic=True)
        self.driver = CatalogDriver(conn)

    @staticmethod
    def handles(sql):
        return _CATALOG_SQL.search(sql) is not None

    @staticmethod
    def translate(sql):
        for pattern, replacement in _CATALOG_REWRITES:
            sql = pattern.sub(replacement, sql)
        return sql


class CatalogDriver(SqliteDriver):
    """The sqlite driver's machinery (errors, declared types, Describe by
    EXPLAIN and a temporary view) on the catalog's connection, with
    PostgreSQL's labels for the rewritten expressions."""

    def __init__(self, conn):  # pylint: disable=super-init-not-called
        self._conn = conn
        self._cursor = conn.cursor()
        self._total_changes = 0
        self.cancel = conn.interrupt
        self.server_version = _sqlite3().sqlite_version

    @staticmethod
    def _relabel(columns):
        if not columns:
            return columns
        return tuple((_catalog_label(c[0]),) + tuple(c[1:]) for c in columns)

    def execute(self, sql, params, describe):
        columns, fetch = SqliteDriver.execute(self, sql, params, describe)
        return self._relabel(columns), fetch

    def prepare(self, sql):
        columns, params = SqliteDriver.prepare(self, sql)
        return self._relabel(columns), params


DRIVERS = {
    "sqlite": SqliteDriver,
    "iris-embedded": IrisEmbeddedDriver,
    "iris-native": IrisNativeDriver,
}


# --------------------------------------------------------------------------
# Cancel
# --------------------------------------------------------------------------


class Canceller:
    """Turns SIGINT into driver.cancel() while a request runs; idle SIGINTs are dropped.

    SIGINT is blocked in every thread and consumed by a dedicated thread with
    sigwait(): a Python-level handler would only run once the C call that
    executes the statement returns, which is exactly what a cancel must not
    wait for. The main thread therefore never sees EINTR either.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._cancel = None
        self._running = False

    def install(self):
        """Call first thing in the main thread, before any other thread exists."""
        if not hasattr(signal, "pthread_sigmask"):
            return  # Windows: no SIGINT from another process; the Rust side replaces the worker
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        threading.Thread(target=self._wait, name="iriswire-cancel", daemon=True).start()

    def set_driver(self, driver):
        self._cancel = driver.cancel

    def _wait(self):
        while True:
            signal.sigwait({signal.SIGINT})
            self._fire()

    def _fire(self):
        # Under the lock, a cancel cannot land between two requests.
        with self._lock:
            if not self._running:
                return
            if self._cancel is None:
                log("SIGINT: this driver cannot cancel a running statement")
                return
            self._cancel()

    def __enter__(self):
        with self._lock:
            self._running = True

    def __exit__(self, *exc_info):
        with self._lock:
            self._running = False


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------


class Worker:
    def __init__(self, channel, driver, batch_rows, canceller):
        self._channel = channel
        self._driver = driver
        self._batch_rows = batch_rows
        self._canceller = canceller
        self._handlers = {b"Q": self._query, b"P": self._prepare}
        self._catalog = None

    def _route(self, sql):
        """The driver for `sql` and the text it runs: catalog statements go
        to the in-memory pg_catalog (created on first use)."""
        if Catalog.handles(sql):
            if self._catalog is None:
                self._catalog = Catalog()
            return self._catalog.driver, Catalog.translate(sql)
        return self._driver, sql

    def serve(self):
        """Answer requests until X or end of input."""
        while True:
            request = self._channel.read_frame()
            if request is None or request[0] == b"X":
                return
            tag, payload = request
            handler = self._handlers.get(tag)
            with self._canceller:
                try:
                    if handler is None:
                        raise WorkerError("08P01", "unknown request %r" % tag)
                    handler(payload)
                except WorkerError as error:
                    self._error(error)
                except (OSError, ProtocolError):
                    raise
                except Exception as exc:  # a bug here must not take the session down
                    log("request failed: %s" % traceback.format_exc())
                    self._error(WorkerError("XX000", "%s: %s" % (type(exc).__name__, exc)))

    def _error(self, error):
        try:
            in_transaction = self._driver.in_transaction()
        except Exception:  # the session itself is broken; the error still goes out
            in_transaction = False
        self._channel.send(error_frame(error, in_transaction))

    def _query(self, payload):
        try:
            flags = payload[0]
            (sql_length,) = _SQL_LENGTH.unpack_from(payload, 1)
            sql = payload[5:5 + sql_length].decode("utf-8")
            params = marshal.loads(payload[5 + sql_length:])
        except (IndexError, struct.error, UnicodeDecodeError, ValueError, EOFError, TypeError) as exc:
            raise WorkerError("08P01", "malformed Q request: %s" % exc)
        send, batch_rows = self._channel.send, self._batch_rows
        driver, sql = self._route(sql)
        columns, fetch = driver.execute(sql, params, flags & 1)
        parts = []
        if columns is not None:
            parts += frame(b"D", marshal.dumps(columns))
            rows = fetch(batch_rows)
            while True:
                if rows:
                    parts += batch_frames(rows)
                if len(rows) < batch_rows:
                    break
                send(parts)  # stream: at most one batch is held here
                parts = []
                rows = fetch(batch_rows)
        # Small results leave as one write: D, B and C together.
        # The session's transaction state is the backend's, even after a catalog read.
        send(parts + frame(b"C", marshal.dumps((driver.rowcount(), self._driver.in_transaction()))))

    def _prepare(self, payload):
        try:
            sql = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkerError("08P01", "malformed P request: %s" % exc)
        driver, sql = self._route(sql)
        self._channel.send(frame(b"T", marshal.dumps(driver.prepare(sql))))


def load_config():
    text = os.environ.get("IRISWIRE_WORKER_CONFIG")
    if not text:
        raise WorkerError("F0000", "IRISWIRE_WORKER_CONFIG is not set")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise WorkerError("F0000", "IRISWIRE_WORKER_CONFIG is not valid JSON: %s" % exc)
    if not isinstance(config, dict):
        raise WorkerError("F0000", "IRISWIRE_WORKER_CONFIG must be a JSON object")
    if config.get("driver") not in DRIVERS:
        raise WorkerError("F0000", "unknown driver %r; expected one of %s" % (
            config.get("driver"), ", ".join(sorted(DRIVERS))))
    batch_rows = config.get("batch_rows", DEFAULT_BATCH_ROWS)
    if not isinstance(batch_rows, int) or batch_rows < 1:
        raise WorkerError("F0000", "batch_rows must be a positive integer")
    return config


def _private_stdio():
    """Move the protocol pipes to private descriptors.

    fd 1 then points at stderr and fd 0 at /dev/null, so a stray print() or a
    library writing to stdout (the IRIS runtime, for one) lands in the log
    instead of corrupting the frame stream.
    """
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(read_fd, write_fd)


def main():
    canceller = Canceller()
    canceller.install()
    channel = _private_stdio()
    try:
        config = load_config()
        driver = DRIVERS[config["driver"]](config)
    except Exception as exc:
        if isinstance(exc, WorkerError):
            error = exc
        else:  # the front end still gets its E frame
            log("start-up failed: %s" % traceback.format_exc())
            error = WorkerError("08001", "could not start the session: %s: %s" % (type(exc).__name__, exc))
        log("start-up failed: %s %s" % (error.sqlstate, error.message))
        channel.send(error_frame(error, False))
        return 1
    canceller.set_driver(driver)
    channel.send(frame(b"R", marshal.dumps({
        "protocol": PROTOCOL_VERSION, "driver": driver.name,
        "server_version": driver.server_version, "pid": os.getpid()})))
    worker = Worker(channel, driver, config.get("batch_rows", DEFAULT_BATCH_ROWS), canceller)
    try:
        worker.serve()
    except ProtocolError as exc:
        log("protocol error: %s" % exc)
        return 1
    except BrokenPipeError:
        log("the front end closed the response pipe")
        return 1
    finally:
        try:
            driver.close()
        except Exception as exc:
            log("closing the session failed: %s" % exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
