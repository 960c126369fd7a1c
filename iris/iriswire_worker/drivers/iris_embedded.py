"""The ``iris-embedded`` driver: IRIS through the ``iris`` module of
embedded Python (the worker runs under irispython), with %SQL.Statement."""

from ..iris_errors import iris_error, iris_exception, iris_status_error
from ..protocol import WorkerError
from ..schema_iris import IrisSchemaReader
from .base import backend_errors
from .iris_common import (
    BINARY_CODES, BOOLEAN_CODES, NUMERIC_CODES, SESSION_ISOLATION, STREAM_CODES, fetch_all, fold_column_name, import_iris,
    iris_param, numeric_text, pg_text, statement_metadata)

# %SQL.StatementMetadata.statementType of INSERT, UPDATE, DELETE.
_DML_STATEMENT_TYPES = frozenset((2, 3, 4))


def _objectscript_value(value):
    """The embedded value the protocol carries: ObjectScript "" is SQL NULL, $C(0) is ''."""
    if value == "":
        return None
    if value == "\x00":
        return ""
    return pg_text(value)


def _numeric_reader(scale):
    def read(value):
        return numeric_text(_objectscript_value(value), scale)
    return read


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
    return iris_param(value)


def _embedded_get(obj, name):
    return getattr(obj, name.replace("%", "_"))


def _embedded_call(obj, method, *args):
    return getattr(obj, method.replace("%", "_"))(*args)


class IrisEmbeddedDriver:
    """IRIS through the ``iris`` module of embedded Python (run under irispython)."""

    name = "iris-embedded"
    cancel = None  # a running ObjectScript statement cannot be interrupted from Python

    def __init__(self, config):
        iris = import_iris("the iris module of IRIS embedded Python; start the worker with irispython",
                           ("cls", "tlevel"))
        self._iris = iris
        namespace = config.get("namespace")
        if namespace:
            if not iris.cls("%SYS.Namespace").Exists(namespace):
                raise WorkerError("3D000", 'namespace "%s" does not exist' % namespace)
            iris.system.Process.SetNamespace(namespace)
        self._status = iris.cls("%SYSTEM.Status")
        self._statement = iris.cls("%SQL.Statement")
        self.server_version = str(iris.cls("%SYSTEM.Version").GetNumber())
        with backend_errors(iris_exception):
            self._prepare(SESSION_ISOLATION)._Execute()
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
        with backend_errors(iris_exception):
            statement = self._prepare(sql)
            columns, _, statement_type = statement_metadata(statement, _embedded_get, _embedded_call)
            result = statement._Execute(*[_objectscript_param(p) for p in params])
            if result._SQLCODE < 0:
                raise iris_error(result._SQLCODE, result._Message)
            self._rowcount = result._ROWCOUNT if statement_type in _DML_STATEMENT_TYPES else -1
        if not columns:
            return None, None
        self._result = result
        self._converters = tuple(
            (index, self._stream_reader(c[2] == -4) if c[2] in STREAM_CODES
             else _numeric_reader(c[4]) if c[2] in NUMERIC_CODES and c[4] > 0
             else _objectscript_binary if c[2] in BINARY_CODES
             else _objectscript_boolean if c[2] in BOOLEAN_CODES else _objectscript_value)
            for index, c in enumerate(columns, 1))
        columns = tuple((fold_column_name(c[0], sql),) + tuple(c[1:]) for c in columns)
        return columns, self._fetch

    def _stream_reader(self, binary):
        """A converter for a stream column: embedded SQL gives the stream's
        OID, whose content %Stream.Object.%Open(oid) + Read() return
        (DOC(GSQL_blobs); InterSystems' DB-API reads embedded streams so)."""
        streams = self._iris.cls("%Stream.Object")

        def read(oid):
            if oid in ("", None):
                return None
            stream = streams._Open(oid)
            if stream is None:
                return None
            chunks = []
            while not stream.AtEnd:
                chunks.append(stream.Read(1 << 20))
            text = "".join(chunks)
            return text.encode("latin-1") if binary else text
        return read

    def execute_many(self, sql, rows):
        self._result = None
        with backend_errors(iris_exception):
            statement = self._prepare(sql)  # once: each tuple only executes it
        count = 0
        for index, params in enumerate(rows):
            try:
                with backend_errors(iris_exception):
                    result = statement._Execute(*[_objectscript_param(p) for p in params])
                    if result._SQLCODE < 0:
                        raise iris_error(result._SQLCODE, result._Message)
            except WorkerError as error:
                error.row = index
                raise
            count += result._ROWCOUNT
        self._rowcount = count
        return count

    def _fetch(self, count):
        result, converters, rows = self._result, self._converters, []
        with backend_errors(iris_exception):
            # No bound-method caching: the embedded bridge tracks one current
            # method per object, so result._Next and result._GetData are looked
            # up afresh each time.
            while len(rows) < count and result._Next():
                rows.append(tuple(convert(result._GetData(i)) for i, convert in converters))
            if result._SQLCODE < 0:
                raise iris_error(result._SQLCODE, result._Message)
        return rows

    def rowcount(self):
        return self._rowcount

    def in_transaction(self):
        return self._iris.tlevel() > 0

    def prepare(self, sql):
        with backend_errors(iris_exception):
            columns, params, _ = statement_metadata(self._prepare(sql), _embedded_get, _embedded_call)
        return tuple((fold_column_name(c[0], sql),) + tuple(c[1:]) for c in columns), params

    # Every process-private global of this process (^||name), listed through
    # the ^$||GLOBAL structured system variable (IRIS documentation,
    # "^$GLOBAL", RSVN_global: process-private globals are looked up as
    # ^$||GLOBAL("^name")); global temporary tables keep their rows in them.
    _KILL_PROCESS_PRIVATE = (
        'set g="" for  set g=$order(^$||GLOBAL(g)) quit:g=""  kill @("^||"_$extract(g,2,*))')

    def reset(self):
        # The process outlives the session, so what it created for itself
        # must go: ObjectScript through embedded Python's iris.execute.
        execute = getattr(self._iris, "execute", None)
        if execute is not None:
            with backend_errors(iris_exception):
                execute(self._KILL_PROCESS_PRIVATE)

    def schema_reader(self):
        return IrisSchemaReader(lambda sql, params: fetch_all(self, sql, params))

    def close(self):
        if self.in_transaction():
            self._iris.trollback()
