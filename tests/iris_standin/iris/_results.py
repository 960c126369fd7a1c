"""Result columns and values as IRIS hands them out.

Metadata (%SQL.StatementMetadata columns, DB-API description): ODBC type
codes by IRIS type (_types.py); column names as the table defines them
(SQL names are not case-sensitive, the stored spelling is what comes back).

Values (strict mode): a stream column read through embedded SQL is the
stream's OID, its content only through the stream API (%Stream.Object
%Open + Read), the way InterSystems' own DB-API reads embedded streams
(IRISStream.fetch_embedded: iris.cls('%Stream.Object')._Open(handle) then
Read() until AtEnd); see
https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=GSQL_blobs.
Vectors come back as VARCHAR "1,2,3" (no brackets). NUMERIC(p,s) values are
rounded to s places (%Library.Numeric: "The logical value will be rounded to
the specified number of decimal places",
https://docs.intersystems.com/irislatest/csp/documatic/%25CSP.Documatic.cls?LIBRARY=%25SYS&CLASSNAME=%25Library.Numeric)
and carry no trailing zeros (canonical numbers); an integral result of
arithmetic is an integer (IRIS numbers are decimal: 6/2 is 3).
"""

import decimal
import re

from ._functions import parse_vector, vector_text
from ._lexer import identifier_name
from ._syntax import items, selects
from ._types import category_of

_ODBC_BY_DECLARED = (
    ("BIGINT", -5), ("SMALLINT", 5), ("TINYINT", -6), ("INT", 4), ("VARBINARY", -3),
    ("BLOB", -3), ("CHAR", 12), ("TEXT", -1), ("DOUBLE", 8), ("FLOAT", 8), ("REAL", 7),
    ("NUMERIC", 2), ("DECIMAL", 3), ("TIMESTAMP", 11), ("DATE", 9), ("TIME", 10),
    ("BIT", -7), ("BOOL", -7),
)
_PLACEHOLDER = re.compile(r"'[^']*'|\"[^\"]*\"|(\?)")


class Column:
    """%SQL.StatementColumn: the properties the worker reads."""

    def __init__(self, name, declared, strict):
        self.colName = self.label = name
        self.declared = declared
        kind = category_of(declared) if strict else None
        if kind is not None:
            self.category, self.ODBCType = kind
        else:
            self.category = None
            self.ODBCType = next((code for word, code in _ODBC_BY_DECLARED if word in declared.upper()), 12)
        sizes = re.findall(r"\d+", declared)
        self.precision = int(sizes[0]) if sizes else 0
        self.scale = int(sizes[1]) if len(sizes) > 1 else 0
        self.isNullable = 1


def parameter_count(sql):
    return sum(1 for m in _PLACEHOLDER.finditer(sql) if m.group(1))


def describe(conn, sql, count, strict):
    """Result columns of ``sql`` without running it, or [] when it returns none."""
    program = conn.execute("EXPLAIN " + sql, (None,) * count).fetchall()
    if not any(row[1] == "ResultRow" for row in program):
        return []
    conn.execute("CREATE TEMP VIEW _standin_describe AS " + _PLACEHOLDER.sub(
        lambda m: "NULL" if m.group(1) else m.group(0), sql))
    try:
        return [Column(row[1], row[2], strict) for row in conn.execute("PRAGMA temp.table_info(_standin_describe)")]
    finally:
        conn.execute("DROP VIEW temp._standin_describe")


def stored_names(columns, sql, tokens, catalog):
    """Name result columns from the statement as written (not as rewritten for
    SQLite), bare column references with their defined spelling (NAME -> name)."""
    found = selects(tokens)
    if not found or tokens[found[0].keyword].depth != 0:
        return
    spellings = {}
    for token in tokens:
        if token.kind in ("word", "qident"):
            for lower, (name, _, _) in catalog(identifier_name(token)).items():
                spellings.setdefault(lower, name)
    select = found[0]
    for column, (a, b) in zip(columns, items(tokens, select.list_start, select.list_end)):
        span = tokens[a:b]
        aliased = len(span) > 2 and span[-2].kind == "word" and span[-2].text.upper() == "AS"
        if not aliased and not (len(span) == 1 and span[0].text == "*"):
            column.colName = column.label = sql[span[0].start:span[-1].end]  # not the rewritten text
        if len(span) in (1, 3) and span[-1].kind in ("word", "qident") and (len(span) == 1 or span[1].text == "."):
            name = identifier_name(span[-1])
            column.colName = column.label = spellings.get(name.lower(), name)


class Streams:
    """The stream objects a session has handed out as OIDs, by OID."""

    def __init__(self):
        self._contents = {}
        self._counter = 0

    def oid(self, content, binary):
        """$LISTBUILD(id, class, location), the shape of a stream OID."""
        self._counter += 1
        klass = "%Stream.GlobalBinary" if binary else "%Stream.GlobalCharacter"
        parts = [str(self._counter), klass, "^IRIS.Stream.Shard"]
        oid = "".join(chr(len(part) + 2) + "\x01" + part for part in parts)
        self._contents[oid] = content
        return oid

    def content(self, oid):
        return self._contents.get(oid)


def _rounded(value, scale):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return decimal.Decimal(repr(value)).quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    return value


def strict_value(value, column, streams, embedded):
    """A value as IRIS would hand it out for ``column``."""
    if value is None:
        return None
    category = column.category
    if category in ("stream", "binstream") and embedded:
        return streams.oid(value, category == "binstream")
    if category == "vector" and isinstance(value, str):
        elements = parse_vector(value)
        try:
            return vector_text([float(e) if "." in e or "e" in e.lower() else int(e) for e in elements])
        except ValueError:
            return vector_text(elements)
    if category in ("numeric", "currency"):
        number = _rounded(value, column.scale if category == "numeric" else 4)
        if isinstance(number, decimal.Decimal):
            number = number.normalize() if number != number.to_integral() else number.quantize(decimal.Decimal(1))
            if embedded:
                return int(number) if number == number.to_integral() else float(number)
            return number
    if category is None and isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    return value

