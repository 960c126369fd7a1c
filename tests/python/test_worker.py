"""Tests for iris/iriswire_worker/, the bridge worker package (docs/bridge-protocol.md).

Standard library only: run with ``python3 -m pytest tests/python`` or
``python3 -m unittest discover tests/python``. Most tests drive a real worker
process over its pipes through the small framed client below; the IRIS
drivers run against tests/iris_standin/iris.py, a stand-in for IRIS's module.
"""

import marshal
import math
import os
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import json

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The worker package's directory: `python3 WORKER` runs it, as iriswire does.
WORKER = os.path.join(ROOT, "iris", "iriswire_worker")
STANDIN = os.path.join(ROOT, "tests", "iris_standin")


def standin_env(database):
    """A worker's environment on the IRIS stand-in. Lenient (IRIS_STANDIN_STRICT=0):
    these tests send SQLite's dialect, which the strict stand-in refuses as IRIS would."""
    return {"PYTHONPATH": STANDIN, "IRIS_STANDIN_DB": database, "IRIS_STANDIN_STRICT": "0"}
HEADER = struct.Struct(">cI")

# The package's modules, for the unit tests (also under `unittest discover`,
# which reads no conftest.py).
if os.path.dirname(WORKER) not in sys.path:
    sys.path.insert(0, os.path.dirname(WORKER))

from iriswire_worker import iris_errors, sql_text  # noqa: E402
from iriswire_worker.drivers import iris_common  # noqa: E402


class Result:
    """Everything a Q request answered."""

    def __init__(self):
        self.columns = None
        self.batches = []
        self.complete = None
        self.error = None

    @property
    def rows(self):
        return [row for batch in self.batches for row in batch]


class WorkerProcess:
    """A worker subprocess and a minimal client of the framed protocol."""

    def __init__(self, config, env=None):
        environment = dict(os.environ)
        environment.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=environment)
        self._buffer = b""
        # The configuration is the first frame on the request pipe, as
        # iriswire sends it (never the environment: it carries the password).
        self.send(b"S", json.dumps(config).encode("utf-8"))

    def _read_exact(self, count, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while len(self._buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("no answer from the worker within %ss" % timeout)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError("the worker closed its stdout")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def read_frame(self, timeout=20):
        tag, length = HEADER.unpack(self._read_exact(HEADER.size, timeout))
        return tag, self._read_exact(length, timeout)

    def send(self, tag, payload=b""):
        self.proc.stdin.write(HEADER.pack(tag, len(payload)) + payload)
        self.proc.stdin.flush()

    def send_query(self, sql, params=(), describe=False):
        text = sql.encode("utf-8")
        self.send(b"Q", bytes([1 if describe else 0]) + struct.pack(">I", len(text)) + text
                  + marshal.dumps(tuple(params)))

    def collect(self, timeout=20):
        result = Result()
        while True:
            tag, payload = self.read_frame(timeout)
            value = marshal.loads(payload)
            if tag == b"D":
                assert result.columns is None and not result.batches, "D must come first"
                result.columns = value
            elif tag == b"B":
                assert result.columns is not None, "B without D"
                result.batches.append(value)
            elif tag == b"C":
                result.complete = value
                return result
            elif tag == b"E":
                result.error = value
                return result
            else:
                raise AssertionError("unexpected frame %r" % tag)

    def query(self, sql, params=(), describe=False, timeout=20):
        self.send_query(sql, params, describe)
        return self.collect(timeout)

    def ok(self, sql, params=(), describe=False):
        result = self.query(sql, params, describe)
        if result.error is not None:
            raise AssertionError("%s failed: %r" % (sql, result.error))
        return result

    def prepare(self, sql):
        self.send(b"P", sql.encode("utf-8"))
        tag, payload = self.read_frame()
        return tag, marshal.loads(payload)

    def ready(self):
        tag, payload = self.read_frame()
        return tag, marshal.loads(payload)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class WorkerTestCase(unittest.TestCase):
    """Starts workers in a temporary directory and always stops them."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.database = os.path.join(self.tmp.name, "test.db")

    def start(self, config, env=None, expect_ready=True):
        worker = WorkerProcess(config, env)
        self.addCleanup(worker.stop)
        if expect_ready:
            tag, info = worker.ready()
            self.assertEqual(tag, b"R", info)
        return worker

    def sqlite_worker(self, **config):
        return self.start(dict({"driver": "sqlite", "database": self.database}, **config))

    def assertError(self, result, sqlstate, message=None):
        self.assertIsNotNone(result.error, "expected %s, got %r" % (sqlstate, result.complete))
        self.assertEqual(result.error[0], sqlstate, result.error)
        if message is not None:
            self.assertEqual(result.error[1], message)


# --------------------------------------------------------------------------
# SQLite driver through the protocol
# --------------------------------------------------------------------------


class SqliteProtocolTest(WorkerTestCase):

    def test_ready_frame(self):
        worker = WorkerProcess({"driver": "sqlite", "database": self.database})
        self.addCleanup(worker.stop)
        tag, info = worker.ready()
        self.assertEqual(tag, b"R")
        self.assertEqual(info, {"protocol": 1, "driver": "sqlite",
                                "server_version": sqlite3.sqlite_version, "pid": worker.proc.pid})

    def test_create_insert_select_with_declared_types(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE item (id BIGINT PRIMARY KEY, name VARCHAR(10), "
                  "price NUMERIC(10,2), data BLOB, ratio DOUBLE PRECISION, flag BOOLEAN)")
        insert = worker.ok("INSERT INTO item VALUES (?, ?, ?, ?, ?, ?)", (1, "apple", 1.25, b"\x00\xff", 0.5, True))
        self.assertEqual(insert.complete, (1, False))
        self.assertIsNone(insert.columns)
        worker.ok("INSERT INTO item VALUES (?, ?, ?, ?, ?, ?)", (2, None, None, None, None, None))
        result = worker.ok("SELECT id, name, price, data, ratio, flag, id + 1 AS next FROM item ORDER BY id",
                           describe=True)
        self.assertEqual(result.columns, (
            ("id", "bigint", 0, 0, 0, 2),
            ("name", "varchar(10)", 0, 10, 0, 2),
            ("price", "numeric(10,2)", 0, 10, 2, 2),
            ("data", "blob", 0, 0, 0, 2),
            ("ratio", "double precision", 0, 0, 0, 2),
            ("flag", "boolean", 0, 0, 0, 2),
            ("next", "", 0, 0, 0, 2),
        ))
        self.assertEqual(result.rows, [(1, "apple", 1.25, b"\x00\xff", 0.5, 1, 2),
                                       (2, None, None, None, None, None, 3)])
        self.assertEqual(result.complete, (-1, False))

    def test_without_describe_flag_types_are_unknown(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER)")
        result = worker.ok("SELECT a FROM t")
        self.assertEqual(result.columns, (("a", "", 0, 0, 0, 2),))

    def test_describe_survives_placeholders_strings_and_comments(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER, b TEXT)")
        worker.ok("INSERT INTO t VALUES (1, 'x?'), (2, 'y')")
        result = worker.ok("SELECT a, b AS \"what?\" FROM t -- trailing ? comment\n"
                           "WHERE b <> '?' /* ? */ AND a >= ? ORDER BY a LIMIT ?", (1, 5), describe=True)
        self.assertEqual(result.columns, (("a", "integer", 0, 0, 0, 2), ("what?", "text", 0, 0, 0, 2)))
        self.assertEqual(result.rows, [(1, "x?"), (2, "y")])

    def test_empty_result_still_has_declared_types(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER NOT NULL, b VARCHAR(3))")
        result = worker.ok("SELECT a, b FROM t WHERE a > ?", (0,), describe=True)
        self.assertEqual(result.columns, (("a", "integer", 0, 0, 0, 2), ("b", "varchar(3)", 0, 3, 0, 2)))
        self.assertEqual(result.batches, [])
        self.assertEqual(result.complete, (-1, False))

    def test_large_result_streams_in_batches(self):
        worker = self.sqlite_worker(batch_rows=512)
        worker.ok("CREATE TABLE n (i INTEGER, s TEXT)")
        worker.ok("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) "
                  "INSERT INTO n SELECT i, 'row ' || i FROM c")
        result = worker.ok("SELECT i, s FROM n ORDER BY i")
        self.assertEqual([len(b) for b in result.batches], [512] * 9 + [392])
        self.assertEqual(result.rows, [(i, "row %d" % i) for i in range(1, 5001)])
        self.assertEqual(result.complete, (-1, False))
        exact = worker.ok("SELECT i FROM n WHERE i <= 1024")  # a multiple of batch_rows
        self.assertEqual([len(b) for b in exact.batches], [512, 512])

    def test_rowcount_of_update_delete_and_returning(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
        self.assertEqual(worker.ok("INSERT INTO t (b) VALUES ('x'), ('y'), ('z')").complete, (3, False))
        self.assertEqual(worker.ok("UPDATE t SET b = 'w' WHERE a >= ?", (2,)).complete, (2, False))
        self.assertEqual(worker.ok("DELETE FROM t WHERE a = 1").complete, (1, False))
        self.assertEqual(worker.ok("DELETE FROM t WHERE a = 99").complete, (0, False))
        returning = worker.ok("INSERT INTO t (b) VALUES ('p'), ('q') RETURNING a, b")
        self.assertEqual(returning.rows, [(4, "p"), (5, "q")])
        self.assertEqual(returning.complete, (2, False))
        with_insert = worker.ok("WITH v(b) AS (VALUES ('r'), ('s'), ('t')) INSERT INTO t (b) SELECT b FROM v")
        self.assertEqual(with_insert.complete, (3, False))
        with_returning = worker.ok("WITH v(b) AS (VALUES ('u')) INSERT INTO t (b) SELECT b FROM v RETURNING b")
        self.assertEqual((with_returning.rows, with_returning.complete), ([("u",)], (1, False)))
        worker.ok("CREATE TABLE log (n)")
        worker.ok("CREATE TRIGGER t_log AFTER DELETE ON t BEGIN INSERT INTO log VALUES (old.a); END")
        self.assertEqual(worker.ok("DELETE FROM t WHERE a > 5").complete, (4, False), "trigger rows not counted")
        self.assertEqual(worker.ok("SELECT count(*) FROM t").complete, (-1, False))
        self.assertEqual(worker.ok("CREATE TABLE u (x)").complete, (-1, False))

    def test_in_transaction_follows_begin_commit_rollback(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        self.assertEqual(worker.ok("BEGIN").complete, (-1, True))
        self.assertEqual(worker.ok("INSERT INTO t VALUES (1)").complete, (1, True))
        failed = worker.query("INSERT INTO t VALUES (1)")
        self.assertError(failed, "23505")
        self.assertTrue(failed.error[5], "E carries in_transaction")
        self.assertEqual(worker.ok("COMMIT").complete, (-1, False))
        worker.ok("BEGIN")
        worker.ok("INSERT INTO t VALUES (2)")
        self.assertEqual(worker.ok("ROLLBACK").complete, (-1, False))
        self.assertEqual(worker.ok("SELECT a FROM t").rows, [(1,)])

    def test_sqlstates_of_failing_statements(self):
        worker = self.sqlite_worker(busy_timeout_ms=100)
        worker.ok("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT NOT NULL, c INT CHECK (c > 0), "
                  "d INT UNIQUE, p INT REFERENCES p(id))")
        worker.ok("CREATE INDEX t_b ON t (b)")
        worker.ok("INSERT INTO p VALUES (1)")
        worker.ok("INSERT INTO t VALUES (1, 'x', 1, 1, 1)")
        options = dict(o.split("=") for (o,) in worker.ok("PRAGMA compile_options").rows if "=" in o)
        max_variables = int(options.get("MAX_VARIABLE_NUMBER", 32766))
        cases = [
            ("SELEC 1", (), "42601"),
            ("SELECT (", (), "42601"),
            ("SELECT 'open", (), "42601"),
            ("SELECT 1; SELECT 2", (), "42601"),
            ("SELECT * FROM missing", (), "42P01"),
            ("SELECT missing FROM t", (), "42703"),
            ("INSERT INTO t VALUES (1, 'y', 1, 2, 1)", (), "23505"),
            ("INSERT INTO t VALUES (2, 'y', 1, 1, 1)", (), "23505"),
            ("INSERT INTO t VALUES (2, NULL, 1, 2, 1)", (), "23502"),
            ("INSERT INTO t VALUES (2, 'y', 1, 2, 42)", (), "23503"),
            ("DELETE FROM p", (), "23503"),
            ("INSERT INTO t VALUES (2, 'y', 0, 2, 1)", (), "23514"),
            ("CREATE TABLE t (x)", (), "42P07"),
            ("CREATE INDEX t_b ON t (b)", (), "42P07"),
            ("INSERT INTO t (id, b) VALUES ('not a rowid', 'y')", (), "42804"),
            ("SELECT 1 WHERE 1 IN (" + ", ".join(["?"] * (max_variables + 1)) + ")",
             (0,) * (max_variables + 1), "54000"),
            ("SELECT " + ", ".join(["1"] * 3000), (), "54011"),
            ("SELECT no_such_function(1)", (), "42883"),
            ("SELECT ?", (1, 2), "08P01"),
            ("SELECT ?", (1 << 70,), "22003"),
            ("COMMIT", (), "25P01"),
            ("RELEASE sp1", (), "3B001"),
        ]
        for sql, params, sqlstate in cases:
            with self.subTest(sql=sql[:60]):
                result = worker.query(sql, params)
                self.assertError(result, sqlstate)
                self.assertFalse(result.error[5])
        # A bad statement does not hurt the session.
        self.assertEqual(worker.ok("SELECT count(*) FROM t").rows, [(1,)])

    def test_error_frame_fields(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
        worker.ok("INSERT INTO t VALUES (1, 'x')")
        duplicate = worker.query("INSERT INTO t VALUES (1, 'y')").error
        self.assertEqual(duplicate[:4], ("23505", 'duplicate key value violates unique constraint "t_pkey"',
                                         "UNIQUE constraint failed: t.a", None))
        # Schema, table, column and constraint, as PostgreSQL names them.
        self.assertEqual(duplicate[6:], ("public", "t", "a", "t_pkey"))
        if sys.version_info >= (3, 11):
            self.assertEqual(duplicate[4], 1555)  # SQLITE_CONSTRAINT_PRIMARYKEY
        not_null = worker.query("INSERT INTO t VALUES (2, NULL)").error
        self.assertEqual(not_null[:3], ("23502", 'null value in column "b" of relation "t" violates not-null constraint',
                                        "NOT NULL constraint failed: t.b"))
        missing = worker.query("SELECT * FROM nope").error
        self.assertEqual(missing[:4], ("42P01", 'relation "nope" does not exist', "no such table: nope", None))
        column = worker.query("SELECT zz FROM t").error
        self.assertEqual(column[:3], ("42703", 'column "zz" does not exist', "no such column: zz"))
        syntax = worker.query("SELEC 1").error
        self.assertEqual(syntax[:3], ("42601", 'syntax error at or near "SELEC"', 'near "SELEC": syntax error'))
        incomplete = worker.query("SELECT (1").error
        self.assertEqual(incomplete[:2], ("42601", "syntax error at end of input"))
        exists = worker.query("CREATE TABLE t (x int)").error
        self.assertEqual(exists[:2], ("42P07", 'relation "t" already exists'))

    def test_database_locked_and_readonly(self):
        worker = self.sqlite_worker(busy_timeout_ms=100)
        worker.ok("CREATE TABLE t (a)")
        holder = sqlite3.connect(self.database, isolation_level=None)
        self.addCleanup(holder.close)
        holder.execute("BEGIN IMMEDIATE")
        self.assertError(worker.query("INSERT INTO t VALUES (1)"), "55P03")
        holder.execute("ROLLBACK")
        # Settings are the server's: a client cannot make the database read-only
        # for the next session of this worker (the sandbox, docs/security.md).
        self.assertError(worker.query("PRAGMA query_only = 1"), "42501")
        worker.ok("INSERT INTO t VALUES (1)")

    def test_pg_functions(self):
        worker = self.sqlite_worker()
        values = [
            ("pg_div(7, 2)", 3), ("pg_div(-7, 2)", -3), ("pg_div(7, -2)", -3), ("pg_div(7.0, 2)", 3.5),
            ("pg_div(NULL, 0)", None), ("pg_mod(-7, 3)", -1), ("pg_mod(7, -3)", 1), ("pg_mod(5.5, 2)", 1.5),
            ("pg_int(' 42 ')", 42), ("pg_int('-0x1F')", -31), ("pg_int('1_000')", 1000), ("pg_int(2.5)", 3),
            ("pg_int(-2.5)", -3), ("pg_int(2.4999)", 2), ("pg_int(NULL)", None),
            ("pg_float(' 1.5e3 ')", 1500.0), ("pg_float('-Infinity')", -math.inf), ("pg_float(3)", 3.0),
            ("pg_numeric('12')", 12), ("pg_numeric(' -1.25 ')", -1.25), ("pg_numeric('1e2')", 100.0),
            ("pg_bool('yes')", 1), ("pg_bool(' OFF ')", 0), ("pg_bool('t')", 1), ("pg_bool('fa')", 0),
            ("pg_bool('on')", 1), ("pg_bool('0')", 0), ("pg_bool(5)", 1), ("pg_bool(NULL)", None),
            ("pg_regexp('^a.c$', 'abc')", 1), ("pg_regexp('^b', 'abc')", 0), ("pg_regexp(NULL, 'x')", None),
        ]
        for expression, expected in values:
            with self.subTest(expression=expression):
                self.assertEqual(worker.ok("SELECT " + expression).rows, [(expected,)])
        errors = [
            ("pg_div(1, 0)", "22012", "division by zero"),
            ("pg_div(1.5, 0.0)", "22012", "division by zero"),
            ("pg_mod(1, 0)", "22012", "division by zero"),
            ("pg_div(-9223372036854775808, -1)", "22003", "integer out of range"),
            ("pg_int('abc')", "22P02", 'invalid input syntax for type integer: "abc"'),
            ("pg_int('1.5')", "22P02", 'invalid input syntax for type integer: "1.5"'),
            ("pg_int(1e19)", "22003", "integer out of range"),
            ("pg_int('99999999999999999999')", "22003", "integer out of range"),
            ("pg_int(x'00')", "42846", "cannot cast type bytea to integer"),
            ("pg_float('x')", "22P02", 'invalid input syntax for type double precision: "x"'),
            ("pg_float('1e400')", "22003", '"1e400" is out of range for type double precision'),
            ("pg_numeric('1.2.3')", "22P02", 'invalid input syntax for type numeric: "1.2.3"'),
            ("pg_bool('maybe')", "22P02", 'invalid input syntax for type boolean: "maybe"'),
            ("pg_bool('o')", "22P02", 'invalid input syntax for type boolean: "o"'),
            ("pg_regexp('(', 'x')", "2201B", None),
        ]
        for expression, sqlstate, message in errors:
            with self.subTest(expression=expression):
                self.assertError(worker.query("SELECT " + expression), sqlstate, message)
        # The PostgreSQL error of one statement never leaks into the next.
        self.assertError(worker.query("SELECT nope()"), "42883")

    def test_prepare_describes_without_executing(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        worker.ok("INSERT INTO t VALUES (1, 'one')")
        cases = [
            ("INSERT INTO t VALUES (?, ?)", ((), None)),
            ("DELETE FROM t", ((), None)),
            ("UPDATE t SET name = ?", ((), None)),
            ("CREATE TABLE made_by_prepare (x)", ((), None)),
            ("DROP TABLE t", ((), None)),
            ("INSERT INTO t VALUES (?, ?) RETURNING id", (None, None)),
            ("BEGIN", ((), None)),
            (" -- only a comment\n;", ((), None)),
        ]
        for sql, expected in cases:
            with self.subTest(sql=sql):
                self.assertEqual(worker.prepare(sql), (b"T", expected))
        self.assertEqual(worker.ok("SELECT id, name FROM t").rows, [(1, "one")])
        self.assertEqual(worker.ok("SELECT name FROM sqlite_master WHERE name = 'made_by_prepare'").rows, [])
        self.assertEqual(worker.prepare("SELECT id, name AS label, id, ? FROM t WHERE id = ?"), (b"T", (
            (("id", "integer", 0, 0, 0, 2), ("label", "varchar(20)", 0, 20, 0, 2),
             ("id", "integer", 0, 0, 0, 2), ("?", "", 0, 0, 0, 2)), None)))
        self.assertEqual(worker.prepare("WITH x(a) AS (SELECT 1) SELECT a FROM x")[1],
                         ((("a", "", 0, 0, 0, 2),), None))
        self.assertEqual(worker.ok("SELECT count(*) FROM t").complete, (-1, False), "P did not BEGIN")
        self.assertEqual(worker.ok("SELECT count(*) FROM t").rows, [(1,)])

    def test_prepare_errors_match_execution(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a)")
        for sql in ("SELECT * FROM nope", "SELEC 1", "INSERT INTO nope VALUES (1)",
                    "SELECT b FROM t", "UPDATE t SET b = 1", "CREATE TABLE t (x)", "SELECT 1; SELECT 2"):
            with self.subTest(sql=sql):
                tag, prepared = worker.prepare(sql)
                self.assertEqual(tag, b"E")
                self.assertEqual(prepared, worker.query(sql).error)

    def test_sigint_cancels_running_statement_only(self):
        worker = self.sqlite_worker()
        os.kill(worker.proc.pid, signal.SIGINT)  # idle: ignored
        time.sleep(0.3)  # let the signal land before the next request
        self.assertEqual(worker.ok("SELECT 1").rows, [(1,)])
        worker.send_query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                          "SELECT count(*) FROM c")
        # Until the statement runs a SIGINT is idle and dropped, so repeat it.
        fd = worker.proc.stdout.fileno()
        for _ in range(40):
            os.kill(worker.proc.pid, signal.SIGINT)
            if select.select([fd], [], [], 0.25)[0]:
                break
        result = worker.collect(timeout=10)
        self.assertError(result, "57014", "canceling statement due to user request")
        self.assertEqual(worker.ok("SELECT 2").rows, [(2,)])

    def test_sigint_while_streaming(self):
        worker = self.sqlite_worker(batch_rows=100)
        worker.send_query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c")
        tag, _ = worker.read_frame()
        self.assertEqual(tag, b"D")
        time.sleep(0.3)  # the worker now blocks on the full pipe between batches
        os.kill(worker.proc.pid, signal.SIGINT)
        while True:
            tag, payload = worker.read_frame(timeout=10)
            if tag != b"B":
                break
        self.assertEqual(tag, b"E")
        self.assertEqual(marshal.loads(payload)[0], "57014")
        self.assertEqual(worker.ok("SELECT 3").rows, [(3,)])

    def test_terminate_rolls_back_and_exits_zero(self):
        worker = self.sqlite_worker()
        worker.ok("CREATE TABLE t (a)")
        worker.ok("BEGIN")
        worker.ok("INSERT INTO t VALUES (1)")
        worker.send(b"X")
        self.assertEqual(worker.proc.wait(timeout=10), 0)
        self.assertEqual(worker.proc.stdout.read(), b"", "X is not answered")
        check = sqlite3.connect(self.database)
        self.addCleanup(check.close)
        self.assertEqual(check.execute("SELECT count(*) FROM t").fetchone(), (0,))

    def test_end_of_input_exits_zero(self):
        worker = self.sqlite_worker()
        worker.proc.stdin.close()
        self.assertEqual(worker.proc.wait(timeout=10), 0)

    def test_unknown_request_and_malformed_query(self):
        worker = self.sqlite_worker()
        worker.send(b"W", b"whatever")
        self.assertEqual(worker.collect().error[0], "08P01")
        worker.send(b"Q", b"\x00\x00\x00\x00\x08SELECT 1")  # no parameter tuple
        self.assertEqual(worker.collect().error[0], "08P01")
        self.assertEqual(worker.ok("SELECT 1").rows, [(1,)])

    def test_two_workers_share_a_database_in_wal_mode(self):
        first = self.sqlite_worker()
        second = self.sqlite_worker()
        self.assertEqual(first.ok("PRAGMA journal_mode").rows, [("wal",)])
        self.assertEqual(first.ok("PRAGMA foreign_keys").rows, [(1,)])
        first.ok("CREATE TABLE t (a)")
        first.ok("INSERT INTO t VALUES (1)")
        self.assertEqual(second.ok("SELECT a FROM t").rows, [(1,)])
        first.ok("BEGIN")
        first.ok("INSERT INTO t VALUES (2)")
        self.assertEqual(second.ok("SELECT a FROM t ORDER BY a").rows, [(1,)], "uncommitted stays invisible")
        first.ok("COMMIT")
        self.assertEqual(second.ok("SELECT a FROM t ORDER BY a").rows, [(1,), (2,)])
        second.ok("INSERT INTO t VALUES (3)")
        self.assertEqual(first.ok("SELECT count(*) FROM t").rows, [(3,)])

    def test_bad_configuration_is_an_error_frame(self):
        worker = self.start({"driver": "postgres"}, expect_ready=False)
        tag, error = worker.read_frame()
        self.assertEqual(tag, b"E")
        self.assertEqual(marshal.loads(error)[0], "F0000")
        self.assertEqual(worker.proc.wait(timeout=10), 1)

    def test_configuration_comes_only_from_the_start_up_frame(self):
        # A request before the S frame is refused; so is configuration in the
        # environment, where the IRIS password must never travel.
        environment = dict(os.environ, IRISWIRE_WORKER_CONFIG=json.dumps(
            {"driver": "sqlite", "database": self.database}))
        proc = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=environment)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.stdout.close)
        text = b"SELECT 1"
        payload = b"\0" + struct.pack(">I", len(text)) + text + marshal.dumps(())
        proc.stdin.write(HEADER.pack(b"Q", len(payload)) + payload)
        proc.stdin.close()
        tag, length = HEADER.unpack(proc.stdout.read(HEADER.size))
        error = marshal.loads(proc.stdout.read(length))
        self.assertEqual((tag, error[0]), (b"E", "F0000"))
        self.assertIn("start-up frame", error[1])
        self.assertEqual(proc.wait(timeout=10), 1)

    def test_missing_iris_module_is_an_error_frame(self):
        worker = self.start({"driver": "iris-embedded", "namespace": "USER"}, expect_ready=False)
        tag, error = worker.read_frame()
        self.assertEqual((tag, marshal.loads(error)[0]), (b"E", "08001"))
        self.assertEqual(worker.proc.wait(timeout=10), 1)

    def test_stray_stdout_writes_go_to_stderr(self):
        # sitecustomize gives the worker's sqlite3 connection a function that
        # prints and writes to fd 1, as a misbehaving library might.
        site_dir = os.path.join(self.tmp.name, "site")
        os.mkdir(site_dir)
        with open(os.path.join(site_dir, "sitecustomize.py"), "w") as handle:
            handle.write(
                "import os, sqlite3\n"
                "_connect = sqlite3.connect\n"
                "def _noisy():\n"
                "    print('noise from print', flush=True)\n"
                "    os.write(1, b'noise on fd 1\\n')\n"
                "    return 7\n"
                "def connect(*args, **kwargs):\n"
                "    connection = _connect(*args, **kwargs)\n"
                "    connection.create_function('noisy', 0, _noisy)\n"
                "    return connection\n"
                "sqlite3.connect = connect\n")
        worker = self.start({"driver": "sqlite", "database": self.database}, env={"PYTHONPATH": site_dir})
        self.assertEqual(worker.ok("SELECT noisy()").rows, [(7,)])
        self.assertEqual(worker.ok("SELECT 1").rows, [(1,)])


# --------------------------------------------------------------------------
# Units: helpers that need no process
# --------------------------------------------------------------------------


class ScannerAndMappingTest(unittest.TestCase):

    def test_scanner_skips_literals_identifiers_and_comments(self):
        scanned = sql_text.ScannedSql(
            "-- leading ?\nSELECT 'a?''b', \"c?\", [d?], `e?`, ? /* ? */ FROM t WHERE x = ?2 AND y = ?")
        self.assertEqual(scanned.nulled, "-- leading ?\nSELECT 'a?''b', \"c?\", [d?], `e?`, CAST(NULL AS _iw_p0) "
                                         "/* ? */ FROM t WHERE x = CAST(NULL AS _iw_p1) AND y = CAST(NULL AS _iw_p2)")
        self.assertEqual(scanned.param_count, 3)
        self.assertEqual(scanned.original_name("CAST(NULL AS _iw_p1) + CAST(NULL AS _iw_p2)"), "?2 + ?")
        self.assertEqual(scanned.first_word, "SELECT")
        self.assertEqual(sql_text.ScannedSql("/* c */ WITH x AS (SELECT 1) SELECT * FROM x").first_word, "WITH")
        self.assertEqual(sql_text.ScannedSql("SELECT ?5, ?").param_count, 6)

    def test_declared_type(self):
        self.assertEqual(sql_text.declared_type("NUMERIC(10, 2)"), ("numeric(10, 2)", 10, 2))
        self.assertEqual(sql_text.declared_type("VARCHAR(255)"), ("varchar(255)", 255, 0))
        self.assertEqual(sql_text.declared_type("INTEGER"), ("integer", 0, 0))
        self.assertEqual(sql_text.declared_type(""), ("", 0, 0))

    def test_iris_sqlcode_mapping(self):
        cases = [
            (-1, "42601"), (-12, "42601"), (-25, "42601"), (-29, "42703"), (-30, "42P01"),
            (-99, "42501"), (-108, "23502"), (-119, "23505"), (-120, "23505"), (-121, "23503"),
            (-124, "23503"), (-110, "55P03"), (-114, "55P03"), (-201, "42P07"), (-359, "42883"),
            (-400, "XX000"), (-139, "40001"), (-50, "42000"), (-9999, "XX000"),
        ]
        for sqlcode, sqlstate in cases:
            with self.subTest(sqlcode=sqlcode):
                error = iris_errors.iris_error(sqlcode, "message")
                self.assertEqual((error.sqlstate, error.detail, error.backend_code),
                                 (sqlstate, "SQLCODE: %d" % sqlcode, sqlcode))
        self.assertEqual(iris_errors.iris_error(-400, "Unexpected error occurred: <DIVIDE>x+3^foo").sqlstate, "22012")
        self.assertEqual(iris_errors.iris_error(-104, "Field 'T.A' (value 'abc') failed validation").sqlstate, "22P02")
        self.assertEqual(iris_errors.iris_error(
            -104, "ERROR #7201: Datatype value 'abcd' length longer than MAXLEN allowed of 3").sqlstate, "22001")

    def test_iris_status_and_dbapi_texts(self):
        status = iris_errors.iris_status_error("ERROR #5540: SQLCODE: -30 Message: Table 'SQLUSER.X' not found")
        self.assertEqual((status.sqlstate, status.message, status.detail), ("42P01", 'relation "x" does not exist', "IRIS SQLCODE -30: Table 'SQLUSER.X' not found"))
        text = ("<SQL ERROR>; Details: [SQLCODE: <-119>:<UNIQUE or PRIMARY KEY Constraint failed uniqueness check>]\r\n"
                "[Location: <ServerLoop - Query Execute>]\r\n[%msg: <Table 'SQLUSER.T', Constraint 'T_PKEY1' failed unique check>]")
        error = iris_errors.iris_exception(RuntimeError(text))
        self.assertEqual((error.sqlstate, error.message, error.backend_code),
                         ("23505", 'duplicate key value violates unique constraint "t_pkey1"', -119))
        self.assertEqual((error.table, error.constraint), ("t", "t_pkey1"))
        self.assertEqual(iris_errors.iris_exception(RuntimeError("<UNDEFINED> x")).sqlstate, "XX000")

    def test_transaction_tracking_and_text_forms(self):
        after = sql_text.transaction_after
        self.assertTrue(after("START TRANSACTION", False))
        self.assertTrue(after(" begin", False))
        self.assertTrue(after("ROLLBACK TO SAVEPOINT a", True))
        self.assertFalse(after("rollback", True))
        self.assertFalse(after("COMMIT WORK", True))
        self.assertTrue(after("SELECT 1", True))
        import datetime
        import decimal
        text = iris_common.pg_text
        self.assertEqual(text(datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)), "2024-01-02 03:04:05.123")
        self.assertEqual(text(datetime.datetime(2024, 1, 2, 3, 4, 5)), "2024-01-02 03:04:05")
        self.assertEqual(text(datetime.time(3, 4, 5, 500000, tzinfo=datetime.timezone.utc)), "03:04:05.5+00:00")
        self.assertEqual(text(datetime.date(2024, 1, 2)), "2024-01-02")
        self.assertEqual(text(decimal.Decimal("1E+2")), "100")


# --------------------------------------------------------------------------
# IRIS drivers against the stand-in
# --------------------------------------------------------------------------


class IrisDriverTests:
    """Shared by both IRIS drivers; subclasses set ``config``."""

    config = None

    def iris_worker(self, **overrides):
        return self.start(dict(self.config, **overrides), env=standin_env(self.database))

    def test_ready(self):
        worker = WorkerProcess(self.config, standin_env(self.database))
        self.addCleanup(worker.stop)
        tag, info = worker.ready()
        self.assertEqual(tag, b"R")
        self.assertEqual((info["protocol"], info["driver"], info["server_version"], info["pid"]),
                         (1, self.config["driver"], "0.0.0-standin", worker.proc.pid))

    def test_query_metadata_rows_and_nulls(self):
        worker = self.iris_worker(batch_rows=2)
        worker.ok("CREATE TABLE person (id INTEGER PRIMARY KEY, name VARCHAR(20), score DOUBLE, born DATE)")
        self.assertEqual(worker.ok("INSERT INTO person VALUES (?, ?, ?, ?)", (1, "ann", 1.5, "2000-01-02")).complete,
                         (1, False))
        worker.ok("INSERT INTO person VALUES (?, ?, ?, ?)", (2, "", None, None))
        worker.ok("INSERT INTO person VALUES (?, ?, ?, ?)", (3, "cy", 2.0, None))
        result = worker.ok("SELECT id, name, score, born FROM person ORDER BY id", describe=True)
        self.assertEqual(result.columns, (
            ("id", "integer", 4, 0, 0, 1), ("name", "varchar", 12, 20, 0, 1),
            ("score", "double", 8, 0, 0, 1), ("born", "date", 9, 0, 0, 1)))
        self.assertEqual(result.rows, [(1, "ann", 1.5, "2000-01-02"), (2, "", None, None), (3, "cy", 2.0, None)])
        self.assertEqual([len(b) for b in result.batches], [2, 1])
        self.assertEqual(worker.ok("UPDATE person SET score = 0 WHERE id > 1").complete, (2, False))
        self.assertEqual(worker.ok("SELECT id FROM person WHERE id > 5").batches, [])

    def test_sqlcode_errors(self):
        worker = self.iris_worker()
        missing = worker.query("SELECT * FROM nope").error
        self.assertEqual(missing[:6], ("42P01", 'relation "nope" does not exist',
                                      "IRIS SQLCODE -30: Table 'SQLUSER.NOPE' not found", None, -30, False))
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL)")
        worker.ok("INSERT INTO t VALUES (1, 'a')")
        duplicate = worker.query("INSERT INTO t VALUES (1, 'b')").error
        self.assertEqual((duplicate[0], duplicate[4]), ("23505", -119))
        self.assertTrue(duplicate[2].startswith("IRIS SQLCODE -119: "), duplicate)
        self.assertError(worker.query("INSERT INTO t VALUES (2, NULL)"), "23502")
        self.assertError(worker.query("SELECT nope FROM t"), "42703")
        self.assertError(worker.query("SELEC 1"), "42601")
        self.assertError(worker.query("CREATE TABLE t (x INTEGER)"), "42P07")

    def test_transactions(self):
        worker = self.iris_worker()
        worker.ok("CREATE TABLE t (id INTEGER)")
        self.assertEqual(worker.ok("START TRANSACTION").complete, (-1, True))
        self.assertEqual(worker.ok("INSERT INTO t VALUES (1)").complete, (1, True))
        self.assertEqual(worker.query("SELECT * FROM nope").error[5], True)
        self.assertEqual(worker.ok("ROLLBACK").complete, (-1, False))
        self.assertEqual(worker.ok("SELECT count(*) FROM t").rows, [(0,)])

    def test_prepare(self):
        worker = self.iris_worker()
        worker.ok("CREATE TABLE t (id INTEGER, name VARCHAR(20))")
        tag, (columns, params) = worker.prepare("SELECT id, name FROM t WHERE id = ?")
        self.assertEqual(tag, b"T")
        self.assertEqual(columns, (("id", "integer", 4, 0, 0, 1), ("name", "varchar", 12, 20, 0, 1)))
        self.assertEqual(params, (("varchar", 12),))
        self.assertEqual(worker.prepare("INSERT INTO t VALUES (?, ?)"), (b"T", ((), (("varchar", 12),) * 2)))
        self.assertEqual(worker.ok("SELECT count(*) FROM t").rows, [(0,)])
        tag, error = worker.prepare("SELECT * FROM nope")
        self.assertEqual((tag, error[0], error[1]), (b"E", "42P01", 'relation "nope" does not exist'))

    def test_unknown_namespace(self):
        worker = self.start(dict(self.config, namespace="NOWHERE"), env=standin_env(self.database), expect_ready=False)
        tag, payload = worker.read_frame()
        self.assertEqual(tag, b"E")
        self.assertEqual(marshal.loads(payload)[0], "3D000")
        self.assertEqual(worker.proc.wait(timeout=10), 1)


class IrisEmbeddedTest(IrisDriverTests, WorkerTestCase):
    config = {"driver": "iris-embedded", "namespace": "USER"}


class IrisNativeTest(IrisDriverTests, WorkerTestCase):
    config = {"driver": "iris-native", "host": "127.0.0.1", "port": 1972, "namespace": "USER",
              "username": "_SYSTEM", "password": "SYS"}


if __name__ == "__main__":
    unittest.main()
