"""The ``iris-embedded`` driver: IRIS through the ``iris`` module of
embedded Python (the worker runs under irispython), with %SQL.Statement."""

from ..iris_errors import iris_error, iris_exception, iris_status_error
from ..protocol import WorkerError
from .base import backend_errors
from .iris_common import BINARY_CODES, BOOLEAN_CODES, import_iris, pg_text, statement_metadata

# %SQL.StatementMetadata.statementType of INSERT, UPDATE, DELETE.
_DML_STATEMENT_TYPES = frozenset((2, 3, 4))


def _objectscript_value(value):
    """The embedded value the protocol carries: ObjectScript "" is SQL NULL, $C(0) is ''."""
    if value == "":
        return None
    if value == "\x00":
        return ""
    return pg_text(value)


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


class IrisEmbeddedDriver:
    """IRIS through the ``iris`` module of embedded Python (run under irispython)."""

    name = "iris-embedded"
    cancel = None  # a running ObjectScript statement cannot be interrupted from Python

    def __init__(self, config):
        iris = import_iris("the iris module of IRIS embedded Python; start the worker with irispython")
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
            (index, _objectscript_binary if c[2] in BINARY_CODES
             else _objectscript_boolean if c[2] in BOOLEAN_CODES else _objectscript_value)
            for index, c in enumerate(columns, 1))
        return columns, self._fetch

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
        return columns, params

    def close(self):
        if self.in_transaction():
            self._iris.trollback()
