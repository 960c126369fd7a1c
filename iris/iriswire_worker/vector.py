"""pgvector on SQLite: IRIS's vector SQL functions over pgvector's text form.

The Rust translator turns pgvector SQL into IRIS vector SQL (TO_VECTOR,
VECTOR_COSINE, VECTOR_DOT_PRODUCT; see docs/iris-vector-notes.md). On SQLite
a vector is stored as pgvector's text form ("[1,2.5,3]") and the functions
below answer that SQL with pgvector's input rules, errors and arithmetic:
elements are float4, sums are float4 accumulators (taken here as the float4
nearest to the exact sum), the final step is float8.
"""

import array
import decimal
import functools
import math
import operator
import re
import struct

from .sqlite_errors import fail

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
        fail("22000", "NaN not allowed in vector")
    if body.startswith("inf"):
        fail("22000", "infinite value not allowed in vector")
    try:
        double = float.fromhex(token) if body.startswith("0x") else float(token)
        if math.isinf(double):
            raise OverflowError(token)
        return _round_float4(token, double)
    except OverflowError:
        fail("22003", '"%s" is out of range for type vector' % token)


def _vector_syntax_error(text, detail=None):
    fail("22P02", 'invalid input syntax for type vector: "%s"' % text, detail)


def _check_vector_dims(dims):
    if dims < 1:
        fail("22000", "vector must have at least 1 dimension")
    if dims > VECTOR_MAX_DIM:
        fail("54000", "vector cannot have more than %d dimensions" % VECTOR_MAX_DIM)


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
        fail("42846", "cannot cast type bytea to vector")
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
        fail("22023", "invalid type modifier")
    if length < 1:
        fail("22023", "dimensions for type vector must be at least 1")
    if length > VECTOR_MAX_DIM:
        fail("22023", "dimensions for type vector cannot exceed %d" % VECTOR_MAX_DIM)
    return length


@functools.lru_cache(maxsize=256)
def _to_vector(text, element_type, length):
    if not isinstance(element_type, str):
        fail("22023", "invalid vector element type: %s" % (
            "NULL" if element_type is None else element_type))
    name = element_type.strip().upper()
    if name in _VECTOR_UNSUPPORTED_TYPES:
        fail("0A000", 'vector element type "%s" is not supported' % element_type)
    if name not in _VECTOR_TYPES:
        fail("22023", 'invalid vector element type: "%s"' % element_type)
    values = _parse_vector(text)
    if length is not None:
        expected = _vector_length(length)
        if expected != len(values):
            fail("22000", "expected %d dimensions, not %d" % (expected, len(values)))
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
        fail("22000", "different vector dimensions %d and %d" % (len(x), len(y)))
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
