# Stand-in for InterSystems IRIS's `iris` module, used only by iriswire's tests: it is not IRIS.
"""A test double for the slice of the ``iris`` API that the worker package iris/iriswire_worker/ uses.

It copies the shape of two real modules that share the name ``iris``:

* embedded Python (``irispython``): ``iris.cls('%SQL.Statement')._New()``,
  ``_Prepare`` returning a %Status, ``_Metadata.columns`` / ``.parameters``
  with ODBC type codes, ``_Execute`` returning a result with ``_SQLCODE``,
  ``_Message``, ``_ROWCOUNT``, ``_Next()``, ``_GetData(i)``;
  ``iris.system.Process.SetNamespace``; ``iris.tlevel()``/``iris.trollback()``;
* the intersystems-irispython client: ``iris.connect(...)`` (DB-API cursors
  whose errors carry the SQLCODE) and ``iris.createIRIS(conn)`` (Native SDK
  ``classMethodValue`` / ``classMethodObject`` with ``invoke``/``get``).

SQL runs on sqlite3, so tests speak SQLite's dialect. Errors come back as the
SQLCODE and %msg IRIS gives for the same failure (e.g. SQLCODE -30, "Table
'SQLUSER.X' not found"). NULL and the empty string follow ObjectScript's
convention on the embedded side: "" is NULL, $C(0) is ''.

Environment: IRIS_STANDIN_DB (sqlite file, default in-memory); namespaces
USER and %SYS exist. IRIS_STANDIN_DOWN_FILE: while that file exists,
``connect()`` refuses as a stopped IRIS instance does (for outage tests).
"""

import os
import re
import sqlite3

_NAMESPACES = {"USER", "%SYS"}
_namespace = os.environ.get("IRISNAMESPACE", "USER").upper()
_database = None


def _connection():
    global _database
    if _database is None:
        _database = sqlite3.connect(
            os.environ.get("IRIS_STANDIN_DB", ":memory:"), isolation_level=None,
            check_same_thread=False)
        _database.execute("PRAGMA foreign_keys = ON")
    return _database


# --- SQLCODE -----------------------------------------------------------------

_SQLCODE_TEXT = {
    -1: "Invalid SQL statement",
    -29: "Field not found in the applicable tables",
    -30: "Table or view not found",
    -108: "Required field missing; INSERT or UPDATE not allowed",
    -119: "UNIQUE or PRIMARY KEY Constraint failed uniqueness check upon INSERT",
    -121: "FOREIGN KEY constraint failed referential check upon INSERT of row in referencing table",
    -201: "Table or view name not unique",
    -400: "Fatal error occurred",
}


def _sqlcode(exc):
    """(SQLCODE, %msg) IRIS reports for the failure sqlite3 raised."""
    message = str(exc)
    match = re.match(r"no such table: (?:\w+\.)?(\w+)", message)
    if match:
        return -30, "Table 'SQLUSER.%s' not found" % match.group(1).upper()
    match = re.match(r"no such column: (\w+)", message)
    if match:
        return -29, "Field '%s' not found in the applicable tables" % match.group(1).upper()
    if re.match(r"near .*syntax error|incomplete input|unrecognized token", message):
        return -1, message
    match = re.match(r"UNIQUE constraint failed: (\w+)\.(\w+)", message)
    if match:
        return -119, "Table 'SQLUSER.%s', Constraint '%s' failed unique check" % (
            match.group(1).upper(), match.group(2).upper())
    match = re.match(r"NOT NULL constraint failed: (\w+)\.(\w+)", message)
    if match:
        return -108, "'%s' in table '%s' is a required field" % (match.group(2), match.group(1))
    if message.startswith("FOREIGN KEY constraint failed"):
        return -121, message
    match = re.match(r"table (\w+) already exists", message)
    if match:
        return -201, "Table 'SQLUSER.%s' already exists" % match.group(1).upper()
    return -400, message


# --- statements ----------------------------------------------------------------

_ODBC_BY_DECLARED = (
    ("BIGINT", -5), ("SMALLINT", 5), ("TINYINT", -6), ("INT", 4), ("VARBINARY", -3),
    ("BLOB", -3), ("CHAR", 12), ("TEXT", -1), ("DOUBLE", 8), ("FLOAT", 8), ("REAL", 7),
    ("NUMERIC", 2), ("DECIMAL", 3), ("TIMESTAMP", 11), ("DATE", 9), ("TIME", 10),
    ("BIT", -7), ("BOOL", -7),
)
_STATEMENT_TYPES = {"SELECT": 1, "WITH": 1, "VALUES": 1, "INSERT": 2, "UPDATE": 3, "DELETE": 4}
_PLACEHOLDER = re.compile(r"'[^']*'|\"[^\"]*\"|(\?)")


# IRIS's INFORMATION_SCHEMA views and class dictionary (the columns iriswire
# reads), over SQLite's catalog. Constraint names are IRIS's style
# (TABLEPKEY1, ...); IRIS has no CHECK constraints in INFORMATION_SCHEMA.
_USER_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
_UNIQUE_INDEXES = (
    "SELECT m.name AS t, il.name AS i, il.seq AS seq, ii.seqno AS seqno, ii.name AS c"
    " FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii"
    " WHERE " + _USER_TABLES + " AND il.origin = 'u'")
_FOREIGN_KEYS = (
    "SELECT m.name AS t, f.id AS id, f.seq AS seq, f.\"from\" AS c, f.\"table\" AS rt,"
    " f.\"to\" AS rc, f.on_update AS ou, f.on_delete AS od"
    " FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE " + _USER_TABLES)
_INFORMATION_SCHEMA = {
    "TABLES": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " CASE m.type WHEN 'view' THEN 'VIEW' ELSE 'BASE TABLE' END AS TABLE_TYPE,"
        " NULL AS DESCRIPTION FROM sqlite_master m"
        " WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'"),
    "COLUMNS": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, p.name AS COLUMN_NAME,"
        " p.cid + 1 AS ORDINAL_POSITION, lower(p.type) AS DATA_TYPE,"
        " CASE WHEN p.type LIKE '%CHAR%(%' OR p.type LIKE '%BINARY%(%'"
        " THEN CAST(substr(p.type, instr(p.type, '(') + 1) AS INTEGER) END AS CHARACTER_MAXIMUM_LENGTH,"
        " CASE WHEN p.type LIKE 'NUMERIC(%' OR p.type LIKE 'DECIMAL(%'"
        " THEN CAST(substr(p.type, instr(p.type, '(') + 1) AS INTEGER) END AS NUMERIC_PRECISION,"
        " CASE WHEN p.type LIKE 'NUMERIC(%,%' OR p.type LIKE 'DECIMAL(%,%'"
        " THEN CAST(substr(p.type, instr(p.type, ',') + 1) AS INTEGER) END AS NUMERIC_SCALE,"
        " CASE WHEN p.\"notnull\" OR p.pk THEN 'NO' ELSE 'YES' END AS IS_NULLABLE,"
        " p.dflt_value AS COLUMN_DEFAULT,"
        " CASE WHEN upper(p.type) = 'IDENTITY' THEN 'YES' ELSE 'NO' END AS AUTO_INCREMENT"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type IN ('table', 'view')"),
    "INDEXES": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, il.name AS INDEX_NAME,"
        " ii.name AS COLUMN_NAME, ii.seqno + 1 AS ORDINAL_POSITION,"
        " il.origin = 'pk' AS PRIMARY_KEY, 1 - il.\"unique\" AS NON_UNIQUE, 'A' AS ASC_OR_DESC"
        " FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii"
        " WHERE " + _USER_TABLES + " AND il.origin = 'c'"),
    "TABLE_CONSTRAINTS": (
        "SELECT DISTINCT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " upper(m.name) || 'PKEY1' AS CONSTRAINT_NAME, 'PRIMARY KEY' AS CONSTRAINT_TYPE"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE " + _USER_TABLES + " AND p.pk"
        " UNION SELECT DISTINCT 'SQLUser', t, upper(t) || 'UNIQUE' || seq, 'UNIQUE' FROM ("
        + _UNIQUE_INDEXES + ") UNION SELECT DISTINCT 'SQLUser', t, upper(t) || 'FKEY' || id,"
        " 'FOREIGN KEY' FROM (" + _FOREIGN_KEYS + ")"),
    "KEY_COLUMN_USAGE": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME,"
        " upper(m.name) || 'PKEY1' AS CONSTRAINT_NAME, p.name AS COLUMN_NAME,"
        " p.pk AS ORDINAL_POSITION, NULL AS REFERENCED_TABLE_SCHEMA,"
        " NULL AS REFERENCED_TABLE_NAME, NULL AS REFERENCED_COLUMN_NAME"
        " FROM sqlite_master m, pragma_table_info(m.name) p WHERE " + _USER_TABLES + " AND p.pk"
        " UNION ALL SELECT 'SQLUser', t, upper(t) || 'UNIQUE' || seq, c, seqno + 1, NULL, NULL,"
        " NULL FROM (" + _UNIQUE_INDEXES + ") UNION ALL SELECT 'SQLUser', t,"
        " upper(t) || 'FKEY' || id, c, seq + 1, 'SQLUser', rt, rc FROM (" + _FOREIGN_KEYS + ")"),
    "REFERENTIAL_CONSTRAINTS": (
        "SELECT DISTINCT 'SQLUser' AS CONSTRAINT_SCHEMA, upper(t) || 'FKEY' || id AS CONSTRAINT_NAME,"
        " ou AS UPDATE_RULE, od AS DELETE_RULE FROM (" + _FOREIGN_KEYS + ")"),
    "VIEWS": (
        "SELECT 'SQLUser' AS TABLE_SCHEMA, m.name AS TABLE_NAME, m.sql AS VIEW_DEFINITION"
        " FROM sqlite_master m WHERE m.type = 'view'"),
}
# %Dictionary.CompiledClass: one class per table; TimeChanged moves with the schema.
_COMPILED_CLASS = (
    "(SELECT 'User.' || m.name AS Name, 'SQLUser' AS SqlSchemaName, m.name AS SqlTableName,"
    " (SELECT schema_version FROM pragma_schema_version) AS TimeChanged FROM sqlite_master m"
    " WHERE m.type IN ('table', 'view'))")


def _iris_sql(sql):
    # IRIS spells BEGIN as START TRANSACTION; sqlite3 knows only BEGIN.
    if re.match(r"\s*START\s+TRANSACTION\s*\Z", sql, re.I):
        return "BEGIN"
    sql = re.sub(r"%Dictionary\.CompiledClass\b", _COMPILED_CLASS, sql, flags=re.I)
    return re.sub(r"\"?INFORMATION_SCHEMA\"?\.(\w+)",
                  lambda m: "(%s)" % _INFORMATION_SCHEMA[m.group(1).upper()]
                  if m.group(1).upper() in _INFORMATION_SCHEMA else m.group(0), sql, flags=re.I)


class _List:
    """%ListOfObjects: Count() and 1-based GetAt()."""

    def __init__(self, items):
        self._items = items

    def Count(self):
        return len(self._items)

    def GetAt(self, index):
        return self._items[index - 1]


class _Column:
    def __init__(self, name, declared):
        self.colName = self.label = name
        self.ODBCType = next((code for word, code in _ODBC_BY_DECLARED if word in declared.upper()), 12)
        sizes = re.findall(r"\d+", declared)
        self.precision = int(sizes[0]) if sizes else 0
        self.scale = int(sizes[1]) if len(sizes) > 1 else 0
        self.isNullable = 1


class _Parameter:
    ODBCType = 12  # IRIS types an unconstrained ? as VARCHAR


class _Metadata:
    def __init__(self, columns, parameter_count, statement_type):
        self.columns = _List(columns)
        self.parameters = _List([_Parameter() for _ in range(parameter_count)])
        self.statementType = statement_type
        self.columnCount = len(columns)
        self.parameterCount = parameter_count


class _Status:
    def __init__(self, text):
        self.text = text


def _describe(conn, sql, parameter_count):
    """Result columns of ``sql`` without running it, or [] when it returns none."""
    program = conn.execute("EXPLAIN " + sql, (None,) * parameter_count).fetchall()
    if not any(row[1] == "ResultRow" for row in program):
        return []
    conn.execute("CREATE TEMP VIEW _standin_describe AS " + _PLACEHOLDER.sub(
        lambda m: "NULL" if m.group(1) else m.group(0), sql))
    try:
        return [_Column(row[1], row[2]) for row in conn.execute("PRAGMA temp.table_info(_standin_describe)")]
    finally:
        conn.execute("DROP VIEW temp._standin_describe")


class _Result:
    """%SQL.StatementResult over a sqlite3 cursor."""

    def __init__(self, cursor=None, error=None, rowcount=0):
        self._cursor = cursor
        self._row = None
        self._SQLCODE, self._Message = error or (0, "")
        self._ROWCOUNT = rowcount

    def _Next(self):
        try:
            self._row = self._cursor.fetchone()
        except sqlite3.Error as exc:
            self._SQLCODE, self._Message = _sqlcode(exc)
            return 0
        if self._row is None:
            self._SQLCODE = 100
            return 0
        self._ROWCOUNT += 1
        return 1

    def _GetData(self, index):
        value = self._row[index - 1]
        if value is None:
            return ""
        if value == "":
            return "\x00"
        if isinstance(value, bytes):
            return value.decode("latin-1")  # ObjectScript strings carry bytes as chars 0-255
        return value


class _Statement:
    """%SQL.Statement: one statement per prepare, as in IRIS."""

    def __init__(self, select_mode=0):
        self._SelectMode = select_mode
        self._Metadata = None
        self._sql = None

    def _Prepare(self, sql):
        sql = _iris_sql(sql)
        parameter_count = sum(1 for m in _PLACEHOLDER.finditer(sql) if m.group(1))
        words = re.findall(r"[A-Za-z]+", sql)
        try:
            columns = _describe(_connection(), sql, parameter_count)
        except sqlite3.Error as exc:
            return _Status("ERROR #5540: SQLCODE: %d Message: %s" % _sqlcode(exc))
        self._sql = sql
        self._Metadata = _Metadata(columns, parameter_count, _STATEMENT_TYPES.get(words[0].upper() if words else "", 0))
        return 1

    def _Execute(self, *args):
        params = [None if a == "" else "" if a == "\x00" else a for a in args]
        try:
            cursor = _connection().execute(self._sql, params)
        except sqlite3.Error as exc:
            return _Result(error=_sqlcode(exc))
        return _Result(cursor, rowcount=max(cursor.rowcount, 0) if cursor.description is None else 0)


# --- embedded Python API ---------------------------------------------------------

class _StatementClass:
    @staticmethod
    def _New(select_mode=0):
        return _Statement(select_mode)


class _StatusClass:
    @staticmethod
    def IsError(status):
        return 0 if status == 1 else 1

    @staticmethod
    def GetErrorText(status):
        return status.text


class _NamespaceClass:
    @staticmethod
    def Exists(namespace):
        return 1 if namespace.upper() in _NAMESPACES else 0


class _VersionClass:
    @staticmethod
    def GetNumber():
        return "0.0.0-standin"


_CLASSES = {
    "%SQL.Statement": _StatementClass, "%SYSTEM.Status": _StatusClass,
    "%SYS.Namespace": _NamespaceClass, "%SYSTEM.Version": _VersionClass,
}


def cls(name):
    if name not in _CLASSES:
        raise RuntimeError("<CLASS DOES NOT EXIST> *%s" % name)
    return _CLASSES[name]


class _Process:
    @staticmethod
    def SetNamespace(namespace):
        global _namespace
        if namespace.upper() not in _NAMESPACES:
            raise RuntimeError("<NAMESPACE> *%s" % namespace)
        _namespace = namespace.upper()
        return _namespace

    @staticmethod
    def NameSpace():
        return _namespace


class system:
    Process = _Process


def tlevel():
    return 1 if _connection().in_transaction else 0


def trollback():
    _connection().rollback()


# --- intersystems-irispython client API ---------------------------------------------

class Error(Exception):
    pass


class DatabaseError(Error):
    """DB-API error worded like the real driver's, with the SQLCODE attached."""

    def __init__(self, sqlcode, message, location):
        self.sqlcode = sqlcode
        super().__init__("[SQLCODE: <%d>:<%s>]\r\n[Location: <%s>]\r\n[%%msg: <%s>]" % (
            sqlcode, _SQLCODE_TEXT.get(sqlcode, "Error"), location, message))


class _Cursor:
    def __init__(self):
        self._cursor = None
        self.description = None
        self.rowcount = -1

    def execute(self, operation, parameters=()):
        conn, sql = _connection(), _iris_sql(operation)
        try:
            columns = _describe(conn, sql, len(parameters))
        except sqlite3.Error as exc:
            raise DatabaseError(*_sqlcode(exc), "Prepare")
        try:
            self._cursor = conn.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise DatabaseError(*_sqlcode(exc), "ServerLoop - Query Execute")
        self.description = tuple(
            (c.colName, c.ODBCType, None, None, c.precision, c.scale, True) for c in columns) or None
        self.rowcount = self._cursor.rowcount

    def fetchmany(self, size=1):
        return self._cursor.fetchmany(size)


class _Connection:
    def cursor(self):
        return _Cursor()

    def close(self):
        pass


def connect(hostname=None, port=None, namespace=None, username=None, password=None, **options):
    down = os.environ.get("IRIS_STANDIN_DOWN_FILE")
    if down and os.path.exists(down):
        raise RuntimeError(
            "Communication link failure: Connection refused (%s:%s)" % (hostname, port)
        )
    if (namespace or "").upper() not in _NAMESPACES:
        raise RuntimeError("Namespace '%s' does not exist" % namespace)
    return _Connection()


class _NativeObject:
    """Native SDK IRISObject: invoke() methods and get() properties by IRIS name."""

    def __init__(self, target):
        self._target = target

    @staticmethod
    def _wrap(value):
        return value if isinstance(value, (int, float, str, type(None))) else _NativeObject(value)

    def invoke(self, method, *args):
        return self._wrap(getattr(self._target, method.replace("%", "_"))(*args))

    def get(self, name):
        return self._wrap(getattr(self._target, name.replace("%", "_")))


class _NativeIRIS:
    def classMethodValue(self, class_name, method, *args):
        args = [a._target if isinstance(a, _NativeObject) else a for a in args]
        return getattr(cls(class_name), method.replace("%", "_"))(*args)

    def classMethodObject(self, class_name, method, *args):
        return _NativeObject(self.classMethodValue(class_name, method, *args))


def createIRIS(connection):
    return _NativeIRIS()
