"""The intersystems-irispython client's surface: iris.connect (DB-API) and
iris.createIRIS (Native SDK classMethodValue/classMethodObject)."""

import os

from . import _engine, _settings
from ._embedded import CLASSES, NAMESPACES
from ._errors import IrisSqlError, dbapi_text
from ._results import strict_value


class Error(Exception):
    pass


class DatabaseError(Error):
    """DB-API error worded like the real driver's, with the SQLCODE attached."""

    def __init__(self, error, location):
        self.sqlcode = error.sqlcode
        super().__init__(dbapi_text(error, location))


class _Cursor:
    def __init__(self):
        self._cursor = None
        self._columns = ()
        self.description = None
        self.rowcount = -1

    def execute(self, operation, parameters=()):
        try:
            prepared = _engine.prepare(operation)
        except IrisSqlError as error:
            raise DatabaseError(error, "Prepare")
        try:
            self._cursor, rowcount = _engine.execute(prepared, parameters)
        except IrisSqlError as error:
            raise DatabaseError(error, "ServerLoop - Query Execute")
        self._columns = prepared.columns
        self.description = tuple(
            (c.colName, c.ODBCType, None, None, c.precision, c.scale, True) for c in prepared.columns) or None
        if self._cursor is None:
            self.rowcount = -1  # statements the stand-in carries out itself (transactions)
        else:
            self.rowcount = self._cursor.rowcount

    def executemany(self, operation, seq_of_parameters):
        """One statement per parameter tuple, stopping at the first error;
        rowcount is the sum, as the real driver reports it."""
        total = 0
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            total += max(self.rowcount, 0)
        self.description = None
        self.rowcount = total

    def fetchmany(self, size=1):
        if self._cursor is None:
            return []
        try:
            rows = self._cursor.fetchmany(size)
        except Exception as exc:  # sqlite3.Error, or a stand-in function's IrisSqlError
            error = exc if isinstance(exc, IrisSqlError) else _engine.sqlite_error(exc)
            raise DatabaseError(error, "ServerLoop - Query Fetch")
        if not _settings.STRICT:
            return rows
        streams = _engine.session.streams
        return [tuple(strict_value(value, column, streams, False) for value, column in zip(row, self._columns))
                for row in rows]


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
    _settings.check_password(password)
    if (namespace or "").upper() not in NAMESPACES:
        raise RuntimeError("Namespace '%s' does not exist" % namespace)
    return _Connection()


def cls(name):
    if name not in CLASSES:
        raise RuntimeError("<CLASS DOES NOT EXIST> *%s" % name)
    return CLASSES[name]


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

    def getTLevel(self):
        """$TLEVEL of the connection's server process. Native SDK for Python,
        class iris.IRIS: "getTLevel() ... equivalent to fetching the value of
        the $TLEVEL special variable" (DOC(BPYNAT_refapi))."""
        from . import tlevel
        return tlevel()


def createIRIS(connection):
    return _NativeIRIS()
