"""Embedded Python's surface: iris.cls(...) classes, iris.system, tlevel.

%SQL.Statement: _New(select_mode), _Prepare(sql) -> %Status, _Metadata,
_Execute(*args) -> %SQL.StatementResult with _SQLCODE, _Message, _ROWCOUNT,
_Next(), _GetData(i). ObjectScript's convention for strings: "" is SQL NULL,
$C(0) is the empty string.
"""

import os
import sqlite3

from . import _engine, _settings
from ._errors import IrisSqlError, status_text
from ._results import strict_value

# USER and %SYS, and any listed in IRIS_STANDIN_NAMESPACES (comma-separated; "*":
# every name), so suites written against other database names can run on the IRIS path.
_LISTED = {name.strip().upper() for name in os.environ.get("IRIS_STANDIN_NAMESPACES", "").split(",") if name.strip()}


class _Namespaces(set):
    def __contains__(self, name):
        return "*" in _LISTED or set.__contains__(self, name)


NAMESPACES = _Namespaces({"USER", "%SYS"} | _LISTED)


class _List:
    """%ListOfObjects: Count() and 1-based GetAt()."""

    def __init__(self, items):
        self._items = items

    def Count(self):
        return len(self._items)

    def GetAt(self, index):
        return self._items[index - 1]


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


class _Result:
    """%SQL.StatementResult over a sqlite3 cursor."""

    def __init__(self, cursor=None, error=None, rowcount=0, columns=()):
        self._cursor = cursor
        self._columns = columns
        self._row = None
        self._SQLCODE, self._Message = (error.sqlcode, error.message) if error else (0, "")
        self._ROWCOUNT = rowcount

    def _Next(self):
        if self._cursor is None:
            self._SQLCODE = 100
            return 0
        try:
            self._row = self._cursor.fetchone()
        except (sqlite3.Error, IrisSqlError) as exc:
            error = exc if isinstance(exc, IrisSqlError) else _engine.sqlite_error(exc)
            self._SQLCODE, self._Message = error.sqlcode, error.message
            return 0
        if self._row is None:
            self._SQLCODE = 100
            return 0
        self._ROWCOUNT += 1
        return 1

    def _GetData(self, index):
        value = self._row[index - 1]
        if _settings.STRICT and index <= len(self._columns):
            value = strict_value(value, self._columns[index - 1], _engine.session.streams, True)
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
        self._prepared = None

    def _Prepare(self, sql):
        try:
            prepared = _engine.prepare(sql)
        except IrisSqlError as error:
            return _Status(status_text(error))
        self._prepared = prepared
        self._Metadata = _Metadata(prepared.columns, prepared.parameter_count, prepared.statement_type)
        return 1

    def _Execute(self, *args):
        params = [None if a == "" else "" if a == "\x00" else a for a in args]
        try:
            cursor, rowcount = _engine.execute(self._prepared, params)
        except IrisSqlError as error:
            return _Result(error=error)
        if cursor is not None and cursor.description is not None:
            return _Result(cursor, rowcount=0, columns=self._prepared.columns)
        return _Result(None, rowcount=rowcount)


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
        return 1 if namespace.upper() in NAMESPACES else 0


class _VersionClass:
    """%SYSTEM.Version: the release IRIS_STANDIN_VERSION names (strict), as in $ZVERSION."""

    @staticmethod
    def GetNumber():
        return _settings.VERSION if _settings.STRICT else "0.0.0-standin"

    @staticmethod
    def GetMajor():
        return _settings.VERSION.split(".")[0]

    @staticmethod
    def GetMinor():
        return _settings.VERSION.split(".")[1]

    @staticmethod
    def GetVersion():
        return _settings.ZVERSION


class _StreamObject:
    """An opened stream: Read() in chunks until AtEnd."""

    def __init__(self, content):
        self._content = content if isinstance(content, str) else content.decode("latin-1")
        self._position = 0
        self.Size = len(self._content)
        self.AtEnd = 1 if not self._content else 0

    def Read(self, length=32000):
        chunk = self._content[self._position:self._position + int(length)]
        self._position += len(chunk)
        self.AtEnd = 1 if self._position >= len(self._content) else 0
        return chunk


class _StreamClass:
    """%Stream.Object: _Open(oid) for the OIDs stream columns come back as."""

    @staticmethod
    def _Open(oid, *args):
        content = _engine.session.streams.content(oid)
        return None if content is None else _StreamObject(content)


class _SqlUtilClass:
    """%SYSTEM.SQL.Util.GetOption: only IsolationMode (0 READ UNCOMMITTED, 1 READ
    COMMITTED, 3 READ VERIFIED; %SYSTEM.SQL.Util class reference; caretdev/
    sqlalchemy-iris get_isolation_level reads it so)."""

    @staticmethod
    def GetOption(name):
        if name != "IsolationMode":
            raise NotImplementedError("stand-in: %SYSTEM.SQL.Util.GetOption(%r)" % name)
        return _engine.session.isolation


CLASSES = {
    "%SQL.Statement": _StatementClass, "%SYSTEM.Status": _StatusClass,
    "%SYS.Namespace": _NamespaceClass, "%SYSTEM.Version": _VersionClass,
    "%Stream.Object": _StreamClass, "%SYSTEM.SQL.Util": _SqlUtilClass,
}


class Process:
    namespace = None

    @staticmethod
    def SetNamespace(namespace):
        _settings.check_password(os.environ.get("IRISPASSWORD"))
        if namespace.upper() not in NAMESPACES:
            raise RuntimeError("<NAMESPACE> *%s" % namespace)
        Process.namespace = namespace.upper()
        return Process.namespace

    @staticmethod
    def NameSpace():
        return Process.namespace
