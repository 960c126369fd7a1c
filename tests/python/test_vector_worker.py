"""pgvector on the SQLite driver: IRIS's vector SQL functions in iris/iriswire_worker/vector.py.

Standard library only, like test_worker.py (whose worker client this file
reuses): run with ``python3 -m pytest tests/python`` or
``python3 -m unittest discover tests/python``.

Expected texts and errors are pgvector's (src/vector.c, test/expected/
vector_type.out); numeric references are computed here by hand, or with
exact rationals where float4 rounding is the point. docs/iris-vector-notes.md
says what the functions mirror on IRIS.
"""

import fractions
import math
import random
import struct
import unittest

from test_worker import WorkerTestCase

from iriswire_worker import vector
from iriswire_worker.protocol import WorkerError

FLOAT4 = struct.Struct("<f")


def float4(value):
    return FLOAT4.unpack(FLOAT4.pack(value))[0]


def exact_float4(text):
    """The float4 nearest to a decimal text, by exact arithmetic (ties to even)."""
    exact = fractions.Fraction(text)
    guess = float4(float(exact))
    bits = struct.unpack("<I", FLOAT4.pack(guess))[0]
    candidates = [struct.unpack("<f", struct.pack("<I", b))[0] for b in (bits - 1, bits, bits + 1)
                  if 0 <= b < 1 << 32]
    candidates = [c for c in candidates if math.isfinite(c)]
    return min(candidates, key=lambda c: (abs(fractions.Fraction(c) - exact),
                                          struct.unpack("<I", FLOAT4.pack(c))[0] & 1))


def float4_sum(values):
    """The float4 nearest to the exact sum (what the worker takes a float4 accumulator to hold)."""
    return float4(float(sum(fractions.Fraction(v) for v in values)))


class VectorTextTest(unittest.TestCase):
    """TO_VECTOR's input and output: pgvector's text form, IRIS's accepted too."""

    def assertFails(self, call, sqlstate, message=None, detail=None):
        with self.assertRaises(WorkerError) as raised:
            call()
        self.assertEqual(raised.exception.sqlstate, sqlstate, raised.exception.message)
        if message is not None:
            self.assertEqual(raised.exception.message, message)
        self.assertEqual(raised.exception.detail, detail)

    def test_literals_round_trip(self):
        cases = [
            ("[1,2,3]", "[1,2,3]"), ("[-1,-2,-3]", "[-1,-2,-3]"), ("[1.,2.,3.]", "[1,2,3]"),
            (" [ 1,  2 ,    3  ] ", "[1,2,3]"), ("[1.23456]", "[1.23456]"), ("[1, 2.50, 3]", "[1,2.5,3]"),
            ("[1.5e38,-1.5e38]", "[1.5e+38,-1.5e+38]"), ("[1.5e-38,-1.5e-38]", "[1.5e-38,-1.5e-38]"),
            ("[1e-46,1]", "[0,1]"), ("[-1e-46,1]", "[-0,1]"), ("[+.5,-0]", "[0.5,-0]"),
            ("[0x10,0x1.8p1]", "[16,3]"),  # strtof reads hexadecimal too
            # IRIS's form: no brackets.
            ("1,2,3", "[1,2,3]"), (" 0.1 , 0.2,0.3 ", "[0.1,0.2,0.3]"), ("7", "[7]"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(vector.to_vector(text), expected)
                self.assertEqual(vector.to_vector(expected), expected)  # the stored form reads back as itself
        self.assertIsNone(vector.to_vector(None))
        self.assertIsNone(vector.to_vector(None, "FLOAT", 3))

    def test_float4_formatting(self):
        # float4out's texts: shortest digits that read back, fixed notation
        # for decimal exponents -4..5, else d.ddde+XX.
        cases = [
            ("0.1", "0.1"), ("3.14159265358979", "3.1415927"), ("0.3333333333", "0.33333334"),
            ("1e-5", "1e-05"), ("0.0001", "0.0001"), ("0.00012345", "0.00012345"), ("0.000012345", "1.2345e-05"),
            ("123456", "123456"), ("123456.7", "123456.7"), ("999999", "999999"), ("1000000", "1e+06"),
            ("1234567", "1.234567e+06"), ("16777217", "1.6777216e+07"), ("1e10", "1e+10"),
            ("3.4028235e38", "3.4028235e+38"), ("1.17549435e-38", "1.1754944e-38"), ("1e-45", "1e-45"),
            ("-2.5", "-2.5"), ("100", "100"), ("-0", "-0"), ("0", "0"), ("0.5", "0.5"), ("1024", "1024"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(vector.format_float4(exact_float4(text) if text != "-0" else -0.0), expected)
                self.assertEqual(vector.to_vector("[%s]" % text), "[%s]" % expected)

    def test_formatting_matches_the_exact_search(self):
        # format_vector's fast path (printf digits, array casts) against the
        # exact shortest-digit search, over random float4 bit patterns,
        # powers of two and subnormals; every text must read back exactly.
        rng = random.Random(20240601)
        values = []
        while len(values) < 6000:
            value = struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]
            if math.isfinite(value):
                values.append(value)
        values += [float4(rng.gauss(0, 0.05)) for _ in range(2000)]
        values += [2.0 ** e for e in range(-149, 128, 3)] + [-(2.0 ** e) for e in range(-140, 120, 11)]
        texts = vector.format_vector(values)[1:-1].split(",")
        for value, text in zip(values, texts):
            special = vector._format_float4_special(value)
            expected = special if special is not None else vector._postgres_float4_text(
                value < 0, *vector._shortest_float4_exact(abs(value)))
            self.assertEqual(text, expected, repr(value))
        back = vector._parse_vector("[" + ",".join(texts) + "]")
        self.assertEqual([struct.pack("<f", v) for v in back], [struct.pack("<f", v) for v in values])

    def test_elements_are_rounded_once(self):
        # The float4 halfway between 1 and the next float4 is 1 + 2**-24; a
        # text just above it must round up, though its nearest float8 is
        # exactly halfway (rounding via float8 would go to even, down).
        halfway = "1.000000059604644775390625"
        self.assertEqual(vector.to_vector("[%s]" % halfway), "[1]")  # a true tie: to even
        self.assertEqual(vector.to_vector("[%s0001]" % halfway), "[1.0000001]")
        self.assertEqual(vector.to_vector("[-%s0001]" % halfway), "[-1.0000001]")
        self.assertEqual(vector.to_vector("[1.0000000596046447753906249]"), "[1]")
        rng = random.Random(7)
        for _ in range(300):
            low = float4(rng.uniform(-100, 100))
            high = struct.unpack("<f", struct.pack("<I", struct.unpack("<I", FLOAT4.pack(low))[0] + 1))[0]
            middle = (fractions.Fraction(low) + fractions.Fraction(high)) / 2
            for offset in (fractions.Fraction(0), fractions.Fraction(1, 10 ** 30), fractions.Fraction(-1, 10 ** 30)):
                value = middle + offset
                text = decimal_text(value)
                with self.subTest(text=text):
                    self.assertEqual(vector._parse_vector("[%s]" % text)[0], exact_float4(text))

    def test_input_errors(self):
        syntax = "invalid input syntax for type vector: \"%s\""
        cases = [
            ("[hello,1]", "22P02", syntax % "[hello,1]", None),
            ("[1,2,3", "22P02", syntax % "[1,2,3", None),
            ("[1,2,3]9", "22P02", syntax % "[1,2,3]9", "Junk after closing right brace."),
            ("1,2,3]", "22P02", syntax % "1,2,3]", None),
            ("[", "22P02", syntax % "[", None), ("[,]", "22P02", syntax % "[,]", None),
            ("[1,]", "22P02", syntax % "[1,]", None), ("[1a]", "22P02", syntax % "[1a]", None),
            ("[1,,3]", "22P02", syntax % "[1,,3]", None), ("[1, ,3]", "22P02", syntax % "[1, ,3]", None),
            ("[1e]", "22P02", syntax % "[1e]", None), ("1 2", "22P02", syntax % "1 2", None),
            ("[]", "22000", "vector must have at least 1 dimension", None),
            ("[ ]", "22000", "vector must have at least 1 dimension", None),
            ("", "22000", "vector must have at least 1 dimension", None),
            ("[NaN,1]", "22000", "NaN not allowed in vector", None),
            ("[Infinity,1]", "22000", "infinite value not allowed in vector", None),
            ("[-inf]", "22000", "infinite value not allowed in vector", None),
            ("[4e38,1]", "22003", '"4e38" is out of range for type vector', None),
            ("[-4e38,1]", "22003", '"-4e38" is out of range for type vector', None),
            ("[1e400]", "22003", '"1e400" is out of range for type vector', None),
            ("[%s]" % ",".join(["1"] * 16001), "54000", "vector cannot have more than 16000 dimensions", None),
        ]
        for text, sqlstate, message, detail in cases:
            with self.subTest(text=text[:40]):
                self.assertFails(lambda: vector.to_vector(text), sqlstate, message, detail)
        self.assertEqual(vector.vector_dims(vector.to_vector("[%s]" % ",".join(["1"] * 16000))), 16000)
        self.assertFails(lambda: vector.to_vector(b"[1]"), "42846", "cannot cast type bytea to vector")

    def test_type_and_length_arguments(self):
        for element_type in ("FLOAT", "float", " Double ", "DECIMAL"):
            with self.subTest(element_type=element_type):
                self.assertEqual(vector.to_vector("[1.5,2,3]", element_type), "[1.5,2,3]")
                self.assertEqual(vector.to_vector("[1.5,2,3]", element_type, 3), "[1.5,2,3]")
        # INTEGER (or INT) truncates toward zero, as IRIS's TO_VECTOR does.
        self.assertEqual(vector.to_vector("[1.9,-1.9,2]", "INTEGER"), "[1,-1,2]")
        self.assertEqual(vector.to_vector("1.5, 2.5", "int", 2), "[1,2]")
        self.assertEqual(vector.to_vector("[1,2,3]", "FLOAT", "3"), "[1,2,3]")
        self.assertEqual(vector.to_vector("[1,2,3]", "FLOAT", None), "[1,2,3]")
        self.assertFails(lambda: vector.to_vector("[1,2,3]", "FLOAT", 2), "22000", "expected 2 dimensions, not 3")
        self.assertFails(lambda: vector.to_vector("1,2", "FLOAT", 3), "22000", "expected 3 dimensions, not 2")
        self.assertFails(lambda: vector.to_vector("[1]", "FLOAT", 0), "22023",
                         "dimensions for type vector must be at least 1")
        self.assertFails(lambda: vector.to_vector("[1]", "FLOAT", 16001), "22023",
                         "dimensions for type vector cannot exceed 16000")
        self.assertFails(lambda: vector.to_vector("[1]", "FLOAT", "x"), "22023", "invalid type modifier")
        self.assertFails(lambda: vector.to_vector("[1]", "STRING"), "0A000", 'vector element type "STRING" is not supported')
        self.assertFails(lambda: vector.to_vector("[1]", "BOGUS"), "22023", 'invalid vector element type: "BOGUS"')
        self.assertFails(lambda: vector.to_vector("[1]", None), "22023", "invalid vector element type: NULL")


def decimal_text(value):
    """The decimal text of a Fraction with a finite decimal expansion."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = int(value)
    rest = value - whole
    digits = ""
    while rest and len(digits) < 80:
        rest *= 10
        digit = int(rest)
        digits += str(digit)
        rest -= digit
    assert not rest, "not a finite decimal"
    return "%s%d.%s" % (sign, whole, digits or "0")


class VectorFunctionTest(unittest.TestCase):
    """VECTOR_COSINE, VECTOR_DOT_PRODUCT, iriswire_vector_l2, vector_dims."""

    def assertFails(self, call, sqlstate, message):
        with self.assertRaises(WorkerError) as raised:
            call()
        self.assertEqual((raised.exception.sqlstate, raised.exception.message), (sqlstate, message))

    def test_reference_values(self):
        cases = [
            (vector.vector_dot_product, "[1,2]", "[3,4]", 11.0),
            (vector.vector_dot_product, "[1,1,1,1,1,1,1,1,1]", "[1,2,3,4,5,6,7,8,9]", 45.0),
            (vector.vector_dot_product, "[1,2,3]", "[-1,0.5,0.25]", 0.75),
            (vector.vector_dot_product, "[0.1]", "[1]", 0.10000000149011612),  # float4(0.1), as float8
            (vector.vector_dot_product, "[3e38]", "[3e38]", math.inf),  # float4 accumulator overflows
            (vector.vector_l2, "[0,0]", "[3,4]", 5.0),
            (vector.vector_l2, "[0,0]", "[0,1]", 1.0),
            (vector.vector_l2, "[1,1,1,1,1,1,1,1,1]", "[1,1,1,1,1,1,1,4,5]", 5.0),
            (vector.vector_l2, "[1,2]", "[2,3]", math.sqrt(2.0)),
            (vector.vector_l2, "[3e38]", "[-3e38]", math.inf),
            (vector.vector_cosine, "[1,2]", "[2,4]", 1.0),
            (vector.vector_cosine, "[1,1]", "[1,1]", 1.0),
            (vector.vector_cosine, "[1,0]", "[0,2]", 0.0),
            (vector.vector_cosine, "[1,1]", "[-1,-1]", -1.0),
            (vector.vector_cosine, "[3,4]", "[4,3]", 24.0 / 25.0),
            (vector.vector_cosine, "[1,0,0]", "[1,1,0]", 1.0 / math.sqrt(2.0)),
            (vector.vector_cosine, "[1,1]", "[1.1,1.1]", 1.0),  # rounding above 1, clamped like pgvector
            (vector.vector_cosine, "[1,1]", "[-1.1,-1.1]", -1.0),
            (vector.vector_cosine, "[1,2,3,4,5,6,7,8,9]", "[-1,-2,-3,-4,-5,-6,-7,-8,-9]", -1.0),
        ]
        for function, a, b, expected in cases:
            with self.subTest(function=function.__name__, a=a, b=b):
                self.assertEqual(function(a, b), expected)
        self.assertEqual(vector.vector_dims("[1,2,3]"), 3)
        self.assertEqual(vector.vector_dims("1,2,3,4"), 4)

    def test_float4_arithmetic(self):
        # pgvector sums in float4; the worker takes the float4 nearest to the
        # exact sum of the (exact) float4 products, then finishes in float8.
        a, b = "[0.1,0.2,0.3]", "[0.4,0.5,0.6]"
        x = [exact_float4(t) for t in ("0.1", "0.2", "0.3")]
        y = [exact_float4(t) for t in ("0.4", "0.5", "0.6")]
        dot = float4_sum(p * q for p, q in zip(x, y))
        self.assertEqual(vector.vector_dot_product(a, b), dot)
        self.assertNotEqual(dot, 0.32)  # float4, not float8, arithmetic
        norm_x = float4_sum(p * p for p in x)
        norm_y = float4_sum(q * q for q in y)
        self.assertEqual(vector.vector_cosine(a, b), dot / math.sqrt(norm_x * norm_y))
        differences = [float4(p - q) for p, q in zip(x, y)]
        self.assertEqual(vector.vector_l2(a, b), math.sqrt(float4_sum(d * d for d in differences)))

    def test_nulls_and_nan(self):
        for function in (vector.vector_cosine, vector.vector_dot_product, vector.vector_l2):
            with self.subTest(function=function.__name__):
                self.assertIsNone(function(None, "[1,2]"))
                self.assertIsNone(function("[1,2]", None))
                self.assertIsNone(function(None, None))
        self.assertIsNone(vector.vector_dims(None))
        # pgvector's cosine_distance is NaN for a zero vector or float4
        # overflow; SQLite has no NaN (it stores NULL), so NULL it is.
        self.assertIsNone(vector.vector_cosine("[1,2]", "[0,0]"))
        self.assertIsNone(vector.vector_cosine("[0,0]", "[0,0]"))
        self.assertIsNone(vector.vector_cosine("[3e38]", "[3e38]"))

    def test_errors(self):
        for function in (vector.vector_cosine, vector.vector_dot_product, vector.vector_l2):
            with self.subTest(function=function.__name__):
                self.assertFails(lambda: function("[1,2]", "[3]"), "22000", "different vector dimensions 2 and 1")
                self.assertFails(lambda: function("1,2,3", "[1,2]"), "22000", "different vector dimensions 3 and 2")
                self.assertFails(lambda: function("[1,x]", "[1,2]"), "22P02",
                                 'invalid input syntax for type vector: "[1,x]"')
                self.assertFails(lambda: function(b"\x00", "[1]"), "42846", "cannot cast type bytea to vector")

    def test_parsed_vectors_are_cached(self):
        vector._parse_vector.cache_clear()
        query = vector.to_vector("[0.5,0.25,0.125]")
        for row in ("[1,0,0]", "[0,1,0]", "[0,0,1]", "[1,1,1]"):
            vector.vector_cosine(row, query)
        info = vector._parse_vector.cache_info()
        self.assertLessEqual(info.maxsize, 4096)
        self.assertGreaterEqual(info.hits, 3)  # the query vector, read once


class VectorSqliteTest(WorkerTestCase):
    """The same functions as SQL, through a worker running the SQLite driver."""

    def test_sql_functions(self):
        worker = self.sqlite_worker()
        values = [
            ("TO_VECTOR('[1, 2.50, 3]')", "[1,2.5,3]"),
            ("TO_VECTOR('1,2,3', 'FLOAT')", "[1,2,3]"),
            ("TO_VECTOR('[0.1,0.2,0.3]', 'double', 3)", "[0.1,0.2,0.3]"),
            ("to_vector('[1.7,-1.7]', 'INT')", "[1,-1]"),
            ("TO_VECTOR(NULL, 'FLOAT')", None),
            ("VECTOR_DOT_PRODUCT(TO_VECTOR('[1,2]', 'FLOAT'), TO_VECTOR('[3,4]', 'FLOAT'))", 11.0),
            ("VECTOR_COSINE(TO_VECTOR('6,4,5', 'FLOAT'), TO_VECTOR('6,4,5', 'FLOAT'))", 1.0),
            ("1 - VECTOR_COSINE('[1,0]', '[0,2]')", 1.0),
            ("iriswire_vector_l2('[0,0]', '[3,4]')", 5.0),
            ("vector_dims(TO_VECTOR('1,2,3', 'FLOAT'))", 3),
            ("VECTOR_COSINE('[1,2]', '[0,0]')", None),
            ("VECTOR_COSINE(NULL, '[0,0]')", None),
        ]
        for expression, expected in values:
            with self.subTest(expression=expression):
                self.assertEqual(worker.ok("SELECT " + expression).rows, [(expected,)])
        self.assertEqual(worker.ok("SELECT TO_VECTOR(?, 'FLOAT', ?)", ("[1,2,3]", 3)).rows, [("[1,2,3]",)])

    def test_sql_errors(self):
        worker = self.sqlite_worker()
        errors = [
            ("TO_VECTOR('[1,2')", "22P02", 'invalid input syntax for type vector: "[1,2"'),
            ("TO_VECTOR('[1,2]', 'FLOAT', 3)", "22000", "expected 3 dimensions, not 2"),
            ("TO_VECTOR('[]')", "22000", "vector must have at least 1 dimension"),
            ("TO_VECTOR('[NaN]')", "22000", "NaN not allowed in vector"),
            ("TO_VECTOR('[1e39]')", "22003", '"1e39" is out of range for type vector'),
            ("VECTOR_COSINE('[1,2,3]', '[1,2]')", "22000", "different vector dimensions 3 and 2"),
            ("VECTOR_DOT_PRODUCT('[1]', '[1,2]')", "22000", "different vector dimensions 1 and 2"),
            ("iriswire_vector_l2('[1]', 'x')", "22P02", 'invalid input syntax for type vector: "x"'),
        ]
        for expression, sqlstate, message in errors:
            with self.subTest(expression=expression):
                self.assertError(worker.query("SELECT " + expression), sqlstate, message)
        result = worker.query("SELECT TO_VECTOR('[1]x')")
        self.assertError(result, "22P02", 'invalid input syntax for type vector: "[1]x"')
        self.assertEqual(result.error[2], "Junk after closing right brace.")
        self.assertError(worker.query("SELECT TO_VECTOR('[1]', 'FLOAT', 1, 2)"), "42883")

    def test_nearest_neighbours(self):
        worker = self.sqlite_worker()
        # IRIS DDL says VECTOR(FLOAT, 3), which SQLite cannot parse; the
        # column's declared type does not matter to the functions.
        worker.ok("CREATE TABLE items (id INTEGER PRIMARY KEY, embedding VECTOR(3))")
        rows = {1: "[1,0,0]", 2: "[0,1,0]", 3: "[1,1,0]", 4: "[-1,0,0]", 5: "2, 0.5, 0", 6: None}
        for item, text in rows.items():
            worker.ok("INSERT INTO items (id, embedding) VALUES (?, TO_VECTOR(?, 'FLOAT', 3))", (item, text))
        self.assertEqual(worker.ok("SELECT embedding FROM items WHERE id = 5").rows, [("[2,0.5,0]",)])
        self.assertError(worker.query("INSERT INTO items VALUES (7, TO_VECTOR('[1,2]', 'FLOAT', 3))"),
                         "22000", "expected 3 dimensions, not 2")

        query = ("SELECT id FROM items ORDER BY 1 - VECTOR_COSINE(embedding, TO_VECTOR(?, 'FLOAT')) "
                 "NULLS LAST LIMIT 3")
        # Cosine distances to [1,0,0]: 1 -> 0, 5 -> 1 - 2/sqrt(4.25), 3 -> 1 - 1/sqrt(2), 2 -> 1, 4 -> 2.
        self.assertEqual(worker.ok(query, ("[1,0,0]",)).rows, [(1,), (5,), (3,)])
        # The query vector is a parameter: a second one answers afresh.
        self.assertEqual(worker.ok(query, ("0,1,0",)).rows, [(2,), (3,), (5,)])
        distances = worker.ok(
            "SELECT id, 1 - VECTOR_COSINE(embedding, TO_VECTOR('[1,0,0]', 'FLOAT')) FROM items ORDER BY id").rows
        self.assertEqual(distances, [
            (1, 0.0), (2, 1.0), (3, 1 - 1 / math.sqrt(2)), (4, 2.0), (5, 1 - 2 / math.sqrt(4.25)), (6, None)])

        # pgvector's <->: L2 distance, with OFFSET.
        self.assertEqual(worker.ok(
            "SELECT id FROM items WHERE embedding IS NOT NULL "
            "ORDER BY iriswire_vector_l2(embedding, '[1,0,0]') LIMIT 3 OFFSET 1").rows, [(3,), (5,), (2,)])
        # pgvector's <#>: the negative inner product.
        self.assertEqual(worker.ok(
            "SELECT id, -VECTOR_DOT_PRODUCT(embedding, TO_VECTOR(?, 'FLOAT')) FROM items "
            "WHERE embedding IS NOT NULL ORDER BY 2, id LIMIT 3", ("[1,0,0]",)).rows,
            [(5, -2.0), (1, -1.0), (3, -1.0)])
        # A NULL embedding has no distance: last here (NULLS LAST), as in PostgreSQL.
        self.assertEqual(worker.ok(
            "SELECT id FROM items ORDER BY iriswire_vector_l2(embedding, '[0,0,0]') NULLS LAST").rows[-1], (6,))
        self.assertEqual(worker.ok("SELECT vector_dims(embedding) FROM items WHERE id = 3").rows, [(3,)])


if __name__ == "__main__":
    unittest.main()
