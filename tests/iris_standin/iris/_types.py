"""IRIS's DDL data types, and what each means for the stand-in.

The accepted names are IRIS's system-defined DDL mappings ([SqlSysDatatypes]
in the configuration parameter file), listed in "Data Types (SQL)",
https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_datatype
and https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RACS_SystemDefinedSQLDatatypes
(read from the 2025 "Configuration Parameter File Reference"). A name outside
the table is not a DDL type on IRIS: BOOLEAN, BYTEA, JSON(B), UUID,
TIMESTAMPTZ, INTERVAL, SERIAL4/BIGSERIAL, INT2/INT4/INT8, FLOAT4/FLOAT8,
arrays. Note TEXT *is* accepted, as a character stream
(TEXT=%Stream.GlobalCharacter), and VARCHAR without a length is
%Library.String(MAXLEN=1).

Each entry: (category, ODBC type code). Categories: string, stream, binary,
binstream, int, double, numeric, date, time, timestamp, bit, vector, guid,
counter, rowversion, currency, embedding.
"""

IRIS_DDL_TYPES = {
    "BIGINT": ("int", -5), "BINARY": ("binary", -2), "BINARY VARYING": ("binary", -3),
    "BIT": ("bit", -7), "BLOB": ("binstream", -4), "CHAR": ("string", 12),
    "CHAR VARYING": ("string", 12), "CHARACTER": ("string", 12), "CHARACTER VARYING": ("string", 12),
    "CLOB": ("stream", -1), "DATE": ("date", 9), "DATETIME": ("timestamp", 11),
    "DATETIME2": ("timestamp", 11), "DEC": ("numeric", 2), "DECIMAL": ("numeric", 2),
    "DOUBLE": ("double", 8), "DOUBLE PRECISION": ("double", 8), "EMBEDDING": ("embedding", 12),
    "FLOAT": ("double", 8), "IMAGE": ("binstream", -4), "INT": ("int", 4), "INTEGER": ("int", 4),
    "LONG": ("stream", -1), "LONG BINARY": ("binstream", -4), "LONG RAW": ("binstream", -4),
    "LONG VARCHAR": ("stream", -1), "LONGTEXT": ("stream", -1), "LONGVARBINARY": ("binstream", -4),
    "LONGVARCHAR": ("stream", -1), "MEDIUMINT": ("int", 4), "MEDIUMTEXT": ("stream", -1),
    "MONEY": ("currency", 3), "NATIONAL CHAR": ("string", 12), "NATIONAL CHAR VARYING": ("string", 12),
    "NATIONAL CHARACTER": ("string", 12), "NATIONAL CHARACTER VARYING": ("string", 12),
    "NATIONAL VARCHAR": ("string", 12), "NCHAR": ("string", 12), "NTEXT": ("stream", -1),
    "NUMBER": ("numeric", 2), "NUMERIC": ("numeric", 2), "NVARCHAR": ("string", 12),
    "POSIXTIME": ("timestamp", 11), "RAW": ("binary", -3), "REAL": ("double", 8),
    "ROWVERSION": ("rowversion", -5), "SERIAL": ("counter", 4), "SMALLDATETIME": ("timestamp", 11),
    "SMALLINT": ("int", 5), "SMALLMONEY": ("currency", 3), "SYSNAME": ("string", 12),
    "TEXT": ("stream", -1), "TIME": ("time", 10), "TIMESTAMP": ("timestamp", 11),
    "TIMESTAMP2": ("timestamp", 11), "TINYINT": ("int", -6), "UNIQUEIDENTIFIER": ("guid", 12),
    "VARBINARY": ("binary", -3), "VARCHAR": ("string", 12), "VARCHAR2": ("string", 12),
    "VECTOR": ("vector", 12),
}

# The longest multi-word name first, so "DOUBLE PRECISION" wins over "DOUBLE".
TYPE_NAMES_BY_LENGTH = sorted(IRIS_DDL_TYPES, key=lambda name: -len(name.split()))

# Data type classes written in place of a DDL name (CREATE TABLE t (a %String(MAXLEN=30))),
# as RSQL_datatype allows, by the DDL name they correspond to.
CLASS_TYPES = {
    "%STRING": "VARCHAR", "%LIBRARY.STRING": "VARCHAR", "%INTEGER": "INTEGER",
    "%LIBRARY.INTEGER": "INTEGER", "%BIGINT": "BIGINT", "%LIBRARY.BIGINT": "BIGINT",
    "%SMALLINT": "SMALLINT", "%LIBRARY.SMALLINT": "SMALLINT", "%TINYINT": "TINYINT",
    "%LIBRARY.TINYINT": "TINYINT", "%BOOLEAN": "BIT", "%LIBRARY.BOOLEAN": "BIT",
    "%DOUBLE": "DOUBLE", "%LIBRARY.DOUBLE": "DOUBLE", "%NUMERIC": "NUMERIC",
    "%LIBRARY.NUMERIC": "NUMERIC", "%DECIMAL": "NUMERIC", "%LIBRARY.DECIMAL": "NUMERIC",
    "%DATE": "DATE", "%LIBRARY.DATE": "DATE", "%TIME": "TIME", "%LIBRARY.TIME": "TIME",
    "%TIMESTAMP": "TIMESTAMP", "%LIBRARY.TIMESTAMP": "TIMESTAMP", "%POSIXTIME": "POSIXTIME",
    "%LIBRARY.POSIXTIME": "POSIXTIME", "%VECTOR": "VECTOR", "%LIBRARY.VECTOR": "VECTOR",
    "%UNIQUEIDENTIFIER": "UNIQUEIDENTIFIER", "%LIBRARY.UNIQUEIDENTIFIER": "UNIQUEIDENTIFIER",
    "%STREAM.GLOBALCHARACTER": "LONGVARCHAR", "%STREAM.GLOBALBINARY": "LONGVARBINARY",
    "%LIBRARY.COUNTER": "SERIAL", "%COUNTER": "SERIAL", "%LIBRARY.DYNAMICOBJECT": "LONGVARCHAR",
    "%LIBRARY.DYNAMICARRAY": "LONGVARCHAR",
}

# VECTOR element types (https://docs.intersystems.com/irislatest/csp/docbook/DocBook.UI.Page.cls?KEY=RSQL_tovector).
VECTOR_ELEMENT_TYPES = frozenset(("DECIMAL", "DOUBLE", "FLOAT", "INTEGER", "INT", "STRING", "TIMESTAMP", "VARCHAR"))

STRING_CATEGORIES = frozenset(("string",))
STREAM_CATEGORIES = frozenset(("stream", "binstream"))


def category_of(declared):
    """(category, ODBC code) of a column from its SQLite declared type (as the
    stand-in writes it), or None for an undeclared or unknown type."""
    words = declared.upper().split("(")[0].split()
    while words:
        name = " ".join(words)
        if name in IRIS_DDL_TYPES:
            return IRIS_DDL_TYPES[name]
        words.pop()
    return None
