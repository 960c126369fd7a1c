"""IRIS's values, types, errors and sessions as PostgreSQL 15 answers them,
driving the worker on the strict IRIS stand-in (IRIS_STANDIN_STRICT=1), both
IRIS drivers. The expectations are PostgreSQL's texts and SQLSTATEs."""

import json
import marshal
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_worker import STANDIN, WORKER, WorkerProcess, WorkerTestCase, standin_env  # noqa: E402

# The driver made in-process (in a child Python), then what the stand-in's
# IRIS reports about the session: %SYSTEM.SQL.Util.GetOption("IsolationMode").
_ISOLATION_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from iriswire_worker.drivers import DRIVERS
import iris
config = json.loads(sys.argv[2])
driver = DRIVERS[config["driver"]](config)
print(iris.cls("%SYSTEM.SQL.Util").GetOption("IsolationMode"))
"""


# The IRIS release the stand-in imitates: run the suite with
# IRIS_STANDIN_VERSION=2024.1 / 2024.3 / 2025.1 (the default) for each column
# of docs/compatibility.md's IRIS table.
IRIS_VERSION = os.environ.get("IRIS_STANDIN_VERSION", "2025.1")


def strict_env(database, **extra):
    env = standin_env(database)
    env["IRIS_STANDIN_STRICT"] = "1"
    env["IRIS_STANDIN_VERSION"] = IRIS_VERSION
    env.update(extra)
    return env


class IrisValuesTests:
    """Shared by both IRIS drivers; subclasses set ``config``."""

    config = None

    def worker(self, env=None, **overrides):
        return self.start(dict(self.config, **overrides), env=strict_env(self.database, **(env or {})))

    # -- 1. errors in PostgreSQL's wording -----------------------------------

    def test_missing_relation_and_column(self):
        worker = self.worker()
        error = worker.query("SELECT * FROM Nope").error
        self.assertEqual(error[:2], ("42P01", 'relation "nope" does not exist'))
        self.assertIn("Table 'SQLUSER.NOPE' not found", error[2])
        self.assertEqual(error[4], -30)
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL)")
        error = worker.query("SELECT Nope FROM t").error
        self.assertEqual(error[:2], ("42703", 'column "nope" does not exist'))
        self.assertIn("SQLCODE -29", error[2])

    def test_unique_and_not_null_violations_name_their_objects(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL)")
        worker.ok("INSERT INTO t (id, name) VALUES (1, 'a')")
        error = worker.query("INSERT INTO t (id, name) VALUES (1, 'b')").error
        self.assertEqual(error[0], "23505")
        self.assertTrue(error[1].startswith("duplicate key value violates unique constraint "), error)
        self.assertEqual((error[6], error[7]), (None, "t"))  # schema (default: none), table
        self.assertIsNotNone(error[9])  # constraint
        self.assertIn(error[9], error[1])
        error = worker.query("INSERT INTO t (id, name) VALUES (2, NULL)").error
        self.assertEqual(error[:2], ("23502", 'null value in column "name" of relation "t" violates not-null constraint'))
        self.assertEqual((error[7], error[8]), ("t", "name"))

    def test_value_too_long(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(5))")
        error = worker.query("INSERT INTO t (id, name) VALUES (1, 'abcdefgh')").error
        self.assertEqual(error[:2], ("22001", "value too long for type character varying(5)"))
        worker.ok("INSERT INTO t (id, name) VALUES (1, 'abc')")
        error = worker.query("UPDATE t SET name = 'abcdefgh'").error
        self.assertEqual(error[:2], ("22001", "value too long for type character varying(5)"))

    # -- 2. session functions, which IRIS lacks (-359) --------------------------

    def test_session_functions_without_a_table(self):
        worker = self.worker()
        version = worker.ok("SELECT version()")
        self.assertEqual(version.columns[0][0], "version")
        self.assertTrue(version.rows[0][0].startswith("PostgreSQL "), version.rows)
        self.assertIn("InterSystems IRIS " + IRIS_VERSION, version.rows[0][0])
        self.assertEqual(worker.ok("select pg_catalog.version()").rows, version.rows)
        for sql in ("SELECT current_schema()", "SELECT current_schema", "SELECT pg_catalog.current_schema()"):
            result = worker.ok(sql)
            self.assertEqual((result.columns[0][0], result.rows), ("current_schema", [("public",)]), sql)
        result = worker.ok("SELECT current_database(), current_user, session_user, pg_backend_pid()")
        self.assertEqual([c[0] for c in result.columns],
                         ["current_database", "current_user", "session_user", "pg_backend_pid"])
        user = self.config.get("username") or "postgres"
        self.assertEqual(result.rows, [("user", user, user, worker.proc.pid)])

    def test_session_functions_beside_a_table(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (id INTEGER, version INTEGER)")
        worker.ok("INSERT INTO t (id, version) VALUES (1, 7)")
        result = worker.ok("SELECT id, t.version, current_user AS u, current_database() AS d FROM t WHERE id = ?", (1,))
        user = self.config.get("username") or "postgres"
        self.assertEqual(result.rows, [(1, 7, user, "user")])

    # -- 3. READ COMMITTED by default; BEGIN ISOLATION LEVEL -----------------

    def test_session_isolation_is_read_committed(self):
        env = dict(os.environ, **strict_env(self.database))
        out = subprocess.run(
            [sys.executable, "-c", _ISOLATION_PROBE, os.path.dirname(WORKER), json.dumps(self.config)],
            env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "1")  # IsolationMode 1: READ COMMITTED

    # -- 4. transaction state from IRIS's $TLEVEL ----------------------------

    def test_transaction_state_follows_tlevel(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (id INTEGER)")
        self.assertEqual(worker.ok("START TRANSACTION").complete, (-1, True))
        self.assertEqual(worker.ok("SAVEPOINT a").complete[1], True)
        self.assertEqual(worker.ok("INSERT INTO t (id) VALUES (1)").complete, (1, True))
        self.assertEqual(worker.query("SELECT * FROM nope").error[5], True)
        self.assertEqual(worker.ok("ROLLBACK TO SAVEPOINT a").complete[1], True)
        self.assertEqual(worker.ok("COMMIT").complete, (-1, False))
        # A statement the text reader would not know, ending the transaction.
        worker.ok("START TRANSACTION")
        self.assertEqual(worker.ok("/* c */ COMMIT").complete, (-1, False))

    # -- 5. values ------------------------------------------------------------

    def test_stream_columns_give_their_content(self):
        worker = self.worker()
        worker.ok("CREATE TABLE doc (id INTEGER, body LONGVARCHAR)")
        worker.ok("INSERT INTO doc (id, body) VALUES (?, ?)", (1, "long text " * 100))
        worker.ok("INSERT INTO doc (id, body) VALUES (?, ?)", (2, None))
        self.assertEqual(worker.ok("SELECT id, body FROM doc ORDER BY id").rows,
                         [(1, "long text " * 100), (2, None)])

    def test_numeric_keeps_its_declared_scale(self):
        worker = self.worker()
        worker.ok("CREATE TABLE money (id INTEGER, amount NUMERIC(10,2))")
        worker.ok("INSERT INTO money (id, amount) VALUES (1, 3.1)")
        worker.ok("INSERT INTO money (id, amount) VALUES (2, NULL)")
        worker.ok("INSERT INTO money (id, amount) VALUES (3, -0.5)")
        self.assertEqual(worker.ok("SELECT amount FROM money ORDER BY id").rows, [("3.10",), (None,), ("-0.50",)])

    def test_result_names_fold_as_postgresql_folds(self):
        worker = self.worker()
        worker.ok("CREATE TABLE person (Id INTEGER, Name VARCHAR(10))")
        worker.ok("INSERT INTO person (Id, Name) VALUES (1, 'x')")
        result = worker.ok("SELECT Id, NAME FROM person")
        self.assertEqual([c[0] for c in result.columns], ["id", "name"])
        self.assertEqual(worker.ok('SELECT Name AS "Name" FROM person').columns[0][0], "Name")
        tag, (columns, _) = worker.prepare("SELECT Id FROM person")
        self.assertEqual((tag, columns[0][0]), (b"T", "id"))

    def test_timestamptz_parameters_are_stored_in_utc(self):
        worker = self.worker()
        worker.ok("CREATE TABLE ev (id INTEGER, happened TIMESTAMP)")
        for i, text in enumerate(("2024-01-02 03:04:05+02", "2024-01-02T01:04:05Z",
                                  "2024-01-01 20:34:05.25-04:30")):
            worker.ok("INSERT INTO ev (id, happened) VALUES (?, ?)", (i, text))
        self.assertEqual([r[0] for r in worker.ok("SELECT happened FROM ev ORDER BY id").rows],
                         ["2024-01-02 01:04:05.000000", "2024-01-02 01:04:05.000000",
                          "2024-01-02 01:04:05.250000"])

    # -- 7. RETURNING, which IRIS lacks ----------------------------------------

    def test_single_row_insert_returning(self):
        worker = self.worker()
        worker.ok("CREATE TABLE r (id IDENTITY, name VARCHAR(10))")
        result = worker.ok("INSERT INTO r (name) VALUES (?) RETURNING id, name", ("a",), describe=True)
        self.assertEqual(([c[0] for c in result.columns], result.rows, result.complete),
                         (["id", "name"], [(1, "a")], (1, False)))
        self.assertEqual(worker.ok("INSERT INTO r (name) VALUES ('b') RETURNING id").rows, [(2,)])
        worker.ok("START TRANSACTION")
        self.assertEqual(worker.ok("INSERT INTO r (name) VALUES ('c') RETURNING id").complete, (1, True))
        worker.ok("ROLLBACK")
        self.assertEqual(worker.ok("SELECT name FROM r ORDER BY id").rows, [("a",), ("b",)])
        tag, (columns, params) = worker.prepare("INSERT INTO r (name) VALUES (?) RETURNING id")
        self.assertEqual((tag, [c[0] for c in columns], len(params)), (b"T", ["id"], 1))

    def test_update_and_delete_returning(self):
        worker = self.worker()
        worker.ok("CREATE TABLE r (id IDENTITY, name VARCHAR(10), n INTEGER)")
        for name, n in (("a", 1), ("b", 2), ("c", 3)):
            worker.ok("INSERT INTO r (name, n) VALUES (?, ?)", (name, n))
        result = worker.ok("UPDATE r SET name = ? WHERE n >= ? RETURNING name, n", ("z", 2))
        self.assertEqual((sorted(result.rows), result.complete), ([("z", 2), ("z", 3)], (2, False)))
        result = worker.ok("DELETE FROM r WHERE n = ? RETURNING name", (1,))
        self.assertEqual((result.rows, result.complete), ([("a",)], (1, False)))
        self.assertEqual(worker.ok("SELECT name, n FROM r ORDER BY n").rows, [("z", 2), ("z", 3)])

    def test_returning_not_yet_emulated_is_0a000(self):
        worker = self.worker()
        worker.ok("CREATE TABLE r (id IDENTITY, name VARCHAR(10))")
        self.assertError(worker.query("INSERT INTO r (name) SELECT name FROM r RETURNING id"), "0A000")

    # -- 6. the wrong iris module ---------------------------------------------

    def test_the_wrong_iris_module_is_a_clear_08001(self):
        fake = os.path.join(self.tmp.name, "fake")
        os.mkdir(fake)
        with open(os.path.join(fake, "iris.py"), "w") as module:
            # The other package's shape: embedded Python lacks connect, the SDK lacks cls.
            module.write("def connect(**kw):\n    raise AssertionError\n" if self.config["driver"] == "iris-embedded"
                         else "def cls(name):\n    raise AssertionError\n")
        worker = self.start(self.config, env={"PYTHONPATH": fake}, expect_ready=False)
        tag, payload = worker.read_frame()
        error = marshal.loads(payload)
        self.assertEqual((tag, error[0]), (b"E", "08001"))
        self.assertTrue(error[1].startswith("the iris module found is not "), error)
        self.assertEqual(worker.proc.wait(timeout=10), 1)


class IrisEmbeddedValuesTest(IrisValuesTests, WorkerTestCase):
    config = {"driver": "iris-embedded", "namespace": "USER"}


class IrisNativeValuesTest(IrisValuesTests, WorkerTestCase):
    config = {"driver": "iris-native", "host": "127.0.0.1", "port": 1972, "namespace": "USER",
              "username": "_SYSTEM", "password": "SYS"}


if __name__ == "__main__":
    unittest.main()
