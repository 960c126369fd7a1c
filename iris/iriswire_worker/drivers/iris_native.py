"""The ``iris-native`` driver: IRIS over the network through the
intersystems-irispython DB-API, and its Native SDK for Describe."""

import functools

from ..iris_errors import iris_connect_error, iris_exception, iris_status_error
from ..schema_iris import IrisSchemaReader
from .base import backend_errors
from .iris_common import (
    NUMERIC_CODES, ODBC_TYPE_NAMES, SESSION_ISOLATION, numeric_text, fetch_all, fold_column_name, import_iris, iris_param, pg_text,
    statement_metadata)

# ODBC codes of the columns whose values need converting to text:
# decimal, date, time, timestamp.
_CONVERTED_CODES = (2, 3, 9, 10, 11, 91, 92, 93, 1091, 1092, 1093)


def _native_get(obj, name):
    return obj.get(name)


def _native_call(obj, method, *args):
    return obj.invoke(method, *args)


class IrisNativeDriver:
    """IRIS over the network through the intersystems-irispython DB-API."""

    name = "iris-native"
    cancel = None  # the DB-API has no cancel; the Rust side replaces the worker

    def __init__(self, config):
        self._config = config
        iris = import_iris("the intersystems-irispython package", ("connect", "createIRIS"))
        namespace = config.get("namespace", "USER")
        with backend_errors(functools.partial(iris_connect_error, namespace=namespace)):
            # autoCommit: each statement commits unless the client opened a
            # transaction with START TRANSACTION, as in PostgreSQL.
            self._conn = iris.connect(
                hostname=config.get("host", "localhost"), port=int(config.get("port", 1972)),
                namespace=namespace, username=config.get("username", ""),
                password=config.get("password", ""), autoCommit=True)
            self._native = iris.createIRIS(self._conn)
            self.server_version = str(self._native.classMethodValue("%SYSTEM.Version", "GetNumber"))
        self._cursor = self._conn.cursor()
        with backend_errors(iris_exception):
            self._cursor.execute(SESSION_ISOLATION)
        self._converters = None
        self._rowcount = -1

    def execute(self, sql, params, describe):
        cursor = self._cursor
        with backend_errors(iris_exception):
            if params:
                cursor.execute(sql, [iris_param(p) for p in params])
            else:
                cursor.execute(sql)
            description = cursor.description
            self._rowcount = -1 if description else cursor.rowcount
        if not description:
            return None, None
        columns = tuple(
            (fold_column_name(str(d[0]), sql), ODBC_TYPE_NAMES.get(d[1] or 0, ""), int(d[1] or 0), int(d[4] or 0),
             int(d[5] or 0), 2 if d[6] is None else int(bool(d[6])))
            for d in description)
        # Only decimal and date/time columns need converting; the rest pass as is.
        self._converters = tuple(
            (index, functools.partial(numeric_text, scale=c[4])
             if c[2] in NUMERIC_CODES and c[4] > 0 else pg_text)
            for index, c in enumerate(columns) if c[2] in _CONVERTED_CODES) or None
        return columns, self._fetch

    def execute_many(self, sql, rows):
        # The DB-API's executemany sends the batch at once; it does not say
        # which tuple failed, so the error carries no row.
        cursor = self._cursor
        with backend_errors(iris_exception):
            cursor.executemany(sql, rows)
            count = cursor.rowcount
        self._rowcount = count if count >= 0 else len(rows)
        return self._rowcount

    def _fetch(self, count):
        with backend_errors(iris_exception):
            rows = self._cursor.fetchmany(count)
        if self._converters is None:
            return [tuple(row) for row in rows]  # the driver's rows are DataRow objects
        converted = []
        for row in rows:
            values = list(row)
            for index, convert in self._converters:
                values[index] = convert(values[index])
            converted.append(tuple(values))
        return converted

    def rowcount(self):
        return self._rowcount

    def in_transaction(self):
        # $TLEVEL of the server process behind the connection (the Native
        # SDK's getTLevel()): right whatever opened or ended the transaction
        # (SAVEPOINT, a failed COMMIT, ObjectScript), unlike reading the SQL.
        with backend_errors(iris_exception):
            return self._native.getTLevel() > 0

    def prepare(self, sql):
        # The DB-API cannot describe without executing; a %SQL.Statement made
        # through the Native SDK can.
        native = self._native
        with backend_errors(iris_exception):
            statement = native.classMethodObject("%SQL.Statement", "%New", 1)
            status = statement.invoke("%Prepare", sql)
            if native.classMethodValue("%SYSTEM.Status", "IsError", status):
                raise iris_status_error(str(native.classMethodValue("%SYSTEM.Status", "GetErrorText", status)))
            columns, params, _ = statement_metadata(statement, _native_get, _native_call)
        return tuple((fold_column_name(c[0], sql),) + tuple(c[1:]) for c in columns), params

    def reset(self):
        # Process-private globals (and the rows of global temporary tables)
        # belong to the server process behind this connection, and the
        # Native API cannot list them: a new connection is a new process.
        self.close()
        self.__init__(self._config)

    def schema_reader(self):
        return IrisSchemaReader(lambda sql, params: fetch_all(self, sql, params))

    def close(self):
        try:
            if self.in_transaction():
                self._cursor.execute("ROLLBACK")
        finally:
            self._conn.close()
