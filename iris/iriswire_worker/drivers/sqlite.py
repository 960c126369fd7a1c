"""The ``sqlite`` driver: stdlib sqlite3, with PostgreSQL semantics emulated
by the SQL functions the Rust translator rewrites to."""

import os
import re

from .. import pg_functions, vector
from ..protocol import WorkerError
from ..schema_sqlite import SqliteSchemaReader
from ..sql_text import EMPTY_SQL, QUERY_WORDS, ScannedSql, declared_type
from ..sqlite_errors import sqlite3_module, sqlite_error
from ..constraints import describe_violation
from ..lock_wait import LockWait
from ..sandbox import Sandbox
from .base import backend_errors

DEFAULT_BUSY_TIMEOUT_MS = 5000

# (SQL name, number of arguments, function) registered on every connection.
SQLITE_FUNCTIONS = (
    ("pg_div", 2, pg_functions.pg_div),
    ("pg_mod", 2, pg_functions.pg_mod),
    ("pg_int", 1, pg_functions.pg_int),
    ("pg_float", 1, pg_functions.pg_float),
    ("pg_numeric", 1, pg_functions.pg_numeric),
    ("pg_bool", 1, pg_functions.pg_bool),
    ("pg_regexp", 2, pg_functions.pg_regexp),
    ("to_vector", 1, vector.to_vector),
    ("to_vector", 2, vector.to_vector),
    ("to_vector", 3, vector.to_vector),
    ("vector_cosine", 2, vector.vector_cosine),
    ("vector_dot_product", 2, vector.vector_dot_product),
    ("iriswire_vector_l2", 2, vector.vector_l2),
    ("vector_dims", 1, vector.vector_dims),
)

# A view renames a repeated column "a" to "a:1".
_VIEW_DUPLICATE = re.compile(r"(.*):\d+\Z", re.DOTALL)


class SqliteDriver:
    name = "sqlite"

    def __init__(self, config):
        sqlite3 = sqlite3_module()
        database = config.get("database")
        if not database:
            raise WorkerError("F0000", 'the sqlite driver needs "database" in IRISWIRE_WORKER_CONFIG')
        busy_timeout_ms = config.get("busy_timeout_ms", DEFAULT_BUSY_TIMEOUT_MS)
        if not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
            raise WorkerError("F0000", "busy_timeout_ms must be a non-negative integer")
        with backend_errors(sqlite_error):
            # isolation_level=None: BEGIN/COMMIT come from the client, never
            # implicitly from sqlite3. check_same_thread=False: interrupt()
            # is called from the cancel thread.
            self._conn = sqlite3.connect(
                database, isolation_level=None, check_same_thread=False,
                cached_statements=1024, timeout=busy_timeout_ms / 1000.0)
            self._conn.execute("PRAGMA journal_mode = WAL")  # readers and a writer in parallel
            self._conn.execute("PRAGMA foreign_keys = ON")  # PostgreSQL always enforces them
            # A confirmed COMMIT survives a power loss, as PostgreSQL's does.
            self._conn.execute("PRAGMA synchronous = FULL")
            for function_name, arity, function in SQLITE_FUNCTIONS:
                self._conn.create_function(function_name, arity, function, deterministic=True)
            # PostgreSQL's session functions, answered from what the front end
            # passed in (the SQL is rewritten to call these).
            session = {
                "version": "PostgreSQL %s (iriswire %s, SQLite %s)" % (
                    config.get("pg_version", "16.6"), config.get("iriswire_version", "?"),
                    sqlite3.sqlite_version),
                "current_database": config.get("database_name", "postgres"),
                "current_schema": "public",
                "current_user": config.get("user", ""),
            }
            for function_name, value in session.items():
                self._conn.create_function(function_name, 0, lambda value=value: value, deterministic=True)
            self._conn.create_function("pg_backend_pid", 0, os.getpid, deterministic=True)
        # From here on every statement, the worker's own included, runs
        # inside the sandbox (sandbox.py): no other files, no extensions, no
        # settings that outlive the session.
        self._sandbox = Sandbox()
        self._conn.set_authorizer(self._sandbox.authorize)
        # Until the front end sends the session's lock_timeout (an L frame).
        self._locks = LockWait(
            lambda ms: self._sandbox.run_trusted(self._conn, "PRAGMA busy_timeout = %d" % ms),
            busy_timeout_ms)
        self._cursor = self._conn.cursor()
        self._total_changes = 0
        self._error_class = sqlite3.OperationalError
        self.server_version = sqlite3.sqlite_version

    def cancel(self):
        # Noted first: a cancel that lands while the statement waits for a
        # lock (between two tries) has nothing running to interrupt.
        self._locks.cancelled = True
        self._conn.interrupt()

    def set_lock_timeout(self, wait_ms):
        """``L``: how long statements may wait for a lock (0: until cancelled)."""
        with backend_errors(sqlite_error):
            self._locks.set_wait(wait_ms)

    def execute(self, sql, params, describe):
        try:
            with backend_errors(sqlite_error):
                declared = None
                if describe:
                    scanned = ScannedSql(sql)
                    if scanned.first_word in QUERY_WORDS:
                        declared = self._view_columns(scanned)
                self._total_changes = self._conn.total_changes
                cursor = self._locks.run(lambda: self._cursor.execute(sql, params), self._error_class)
                description = cursor.description
        except WorkerError as error:
            if error.sqlstate.startswith("23"):
                describe_violation(self._conn, error, sql)
            self._sandbox.explain(error)
            raise
        if description is None:
            return None, None
        if declared is None or len(declared) != len(description):
            columns = tuple((d[0], "", 0, 0, 0, 2) for d in description)
        else:  # names as executed, types as declared
            columns = tuple((d[0],) + c[1:] for d, c in zip(description, declared))
        return columns, self._fetch

    def execute_many(self, sql, rows):
        conn = self._conn
        before = conn.total_changes
        try:
            with backend_errors(sqlite_error):
                self._locks.run(lambda: self._cursor.executemany(sql, rows), self._error_class)
        except WorkerError as error:
            # Each tuple before the failing one changed one row (COPY's plain
            # INSERT; triggers would blur this), so the count names it.
            error.row = conn.total_changes - before
            raise
        return conn.total_changes - before

    def _fetch(self, count):
        with backend_errors(sqlite_error):
            return self._cursor.fetchmany(count)

    def rowcount(self):
        count = self._cursor.rowcount
        if count <= 0 and self._conn.total_changes != self._total_changes:
            # sqlite3 misses the count of DML it does not recognise by its
            # first keyword (WITH ... INSERT) and, before Python 3.10, of
            # DML with RETURNING. Only DML moves total_changes; changes() is
            # the finished statement's own count, without trigger changes.
            count = self._conn.execute("SELECT changes()").fetchone()[0]
        return count

    def in_transaction(self):
        return self._conn.in_transaction

    def _view_columns(self, scanned):
        """``(name, type, 0, precision, scale, 2)`` per column of a query, via a TEMP VIEW.

        sqlite3 does not expose sqlite3_column_decltype, but a view's
        PRAGMA table_info reports the declared type of every column that is a
        plain table column. Views cannot hold parameters, hence the NULL markers.
        Returns None when the text does not make a view.
        """
        conn = self._conn
        try:
            conn.execute("CREATE TEMP VIEW _iw_describe AS " + scanned.nulled)
            info = conn.execute("PRAGMA temp.table_info(_iw_describe)").fetchall()
        except sqlite3_module().Error:
            return None
        finally:
            conn.execute("DROP VIEW IF EXISTS temp._iw_describe")
        seen = set()
        columns = []
        for row in info:
            name = row[1]
            # Undo the view's renaming of a repeated column.
            match = _VIEW_DUPLICATE.match(name)
            if match and match.group(1) in seen:
                name = match.group(1)
            seen.add(name)
            name = scanned.original_name(name)
            type_name, precision, scale = declared_type(row[2])
            columns.append((name, type_name, 0, precision, scale, 2))
        return tuple(columns)

    def prepare(self, sql):
        if EMPTY_SQL.match(sql):
            return (), None  # as executing it: nothing happens
        scanned = ScannedSql(sql)
        if scanned.first_word == "PRAGMA":
            return None, None  # many pragmas take effect while being compiled
        with backend_errors(sqlite_error):
            if scanned.first_word == "EXPLAIN":
                # Running EXPLAIN never runs the statement it explains.
                description = self._conn.execute(sql, (None,) * scanned.param_count).description
                return tuple((d[0], "", 0, 0, 0, 2) for d in description), None
            # EXPLAIN compiles the statement, with exactly the errors execution
            # would raise, and lists its program without running it.
            program = self._conn.execute("EXPLAIN " + sql, (None,) * scanned.param_count).fetchall()
        if not any(instruction[1] == "ResultRow" for instruction in program):
            return (), None
        if scanned.first_word in QUERY_WORDS:
            return self._view_columns(scanned), None
        return None, None  # RETURNING: SQLite names its columns only when it runs

    def reset(self):
        with backend_errors(sqlite_error):
            # Views and triggers first: a temporary table may back them.
            objects = self._conn.execute(
                "SELECT type, name FROM sqlite_temp_schema "
                "WHERE type IN ('view', 'trigger', 'table') AND name NOT LIKE 'sqlite_%' "
                "ORDER BY type = 'table'").fetchall()
            for kind, name in objects:
                self._conn.execute('DROP %s IF EXISTS temp."%s"' % (kind.upper(), name.replace('"', '""')))

    def schema_reader(self):
        return SqliteSchemaReader(self._conn)

    def close(self):
        try:
            if self._conn.in_transaction:
                self._conn.rollback()
        finally:
            self._conn.close()
