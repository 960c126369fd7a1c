"""The bridge worker's ``M`` request: one statement run once per parameter
tuple, as COPY FROM STDIN's batches arrive (docs/bridge-protocol.md).

Standard library only, like test_worker.py, whose worker client this file
reuses; every driver runs the same cases (the IRIS ones on the stand-in).
"""

import marshal
import struct
import unittest

from test_worker import WorkerTestCase, standin_env


def many_payload(sql, rows):
    text = sql.encode("utf-8")
    return struct.pack(">I", len(text)) + text + marshal.dumps(list(rows))


class ManyTests:
    """Shared by every driver: subclasses provide ``worker()`` and ``begin``."""

    def many(self, worker, sql, rows):
        worker.send(b"M", many_payload(sql, rows))
        tag, payload = worker.read_frame()
        return tag, marshal.loads(payload)

    def test_rows_are_inserted_and_counted(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (a INTEGER, b VARCHAR(20), c DOUBLE)")
        worker.ok(self.begin)
        tag, complete = self.many(worker, "INSERT INTO t (a, b, c) VALUES (?, ?, ?)",
                                  [(1, "one", 1.5), (2, None, None), (3, "", -2.0)])
        self.assertEqual((tag, complete), (b"C", (3, True)))
        worker.ok("COMMIT")
        rows = worker.ok("SELECT a, b, c FROM t ORDER BY a").rows
        self.assertEqual(rows[0], (1, "one", 1.5))
        self.assertEqual(rows[1][0], 2)
        self.assertIsNone(rows[1][2])
        self.assertEqual(len(rows), 3)

    def test_an_empty_list_changes_nothing(self):
        worker = self.worker()
        worker.ok("CREATE TABLE t (a INTEGER)")
        self.assertEqual(self.many(worker, "INSERT INTO t (a) VALUES (?)", []), (b"C", (0, False)))

    def test_a_failing_tuple_is_named_and_the_transaction_stays_open(self):
        worker = self.worker()
        worker.ok("CREATE TABLE u (a INTEGER PRIMARY KEY)")
        worker.ok(self.begin)
        tag, error = self.many(worker, "INSERT INTO u (a) VALUES (?)", [(1,), (2,), (1,), (4,)])
        self.assertEqual(tag, b"E")
        self.assertEqual(error[0], "23505", error)
        self.assertTrue(error[5], "still inside the caller's transaction")
        if self.names_failed_row:
            self.assertEqual(error[10], 2)
        worker.ok("ROLLBACK")
        self.assertEqual(worker.ok("SELECT COUNT(*) FROM u").rows, [(0,)])

    def test_a_malformed_request_is_refused_and_the_worker_goes_on(self):
        worker = self.worker()
        worker.send(b"M", struct.pack(">I", 3) + b"SEL" + marshal.dumps((1, 2)))
        tag, error = worker.read_frame()
        self.assertEqual(tag, b"E")
        self.assertEqual(marshal.loads(error)[0], "08P01")
        self.assertEqual(worker.ok("SELECT 1").rows, [(1,)])


class ManyOnSqliteTest(ManyTests, WorkerTestCase):
    begin = "BEGIN"
    names_failed_row = True

    def worker(self):
        return self.sqlite_worker()


class ManyOnIrisEmbeddedTest(ManyTests, WorkerTestCase):
    begin = "START TRANSACTION"
    names_failed_row = True
    config = {"driver": "iris-embedded", "namespace": "USER"}

    def worker(self):
        return self.start(self.config, env=standin_env(self.database))


class ManyOnIrisNativeTest(ManyOnIrisEmbeddedTest):
    # The DB-API's executemany does not say which tuple failed.
    names_failed_row = False
    config = {"driver": "iris-native", "host": "127.0.0.1", "port": 1972, "namespace": "USER",
              "username": "_SYSTEM", "password": "SYS"}


if __name__ == "__main__":
    unittest.main()
