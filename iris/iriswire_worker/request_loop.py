"""The request loop: start-up (the ``S`` frame's configuration, the driver,
the ``R`` frame), then one request at a time until ``X`` or end of input."""

import json
import os
import sys
import traceback

from .cancel import Canceller
from . import session_functions
from .catalog import Catalog, is_ddl, session_names
from .iris_returning import describe_returning, insert_returning, split_returning
from .drivers import DRIVERS
from .drivers.base import Driver
from .protocol import (
    FLAG_DESCRIBE, PROTOCOL_VERSION, Channel, ProtocolError, WorkerError, batch_frames, dumps,
    error_frame, frame, log, parse_lock_timeout, parse_many, parse_prepare, parse_query)

DEFAULT_BATCH_ROWS = 512


class Worker:
    """One session's requests: each is answered in full before the next is read."""

    def __init__(self, channel: Channel, driver: Driver, batch_rows: int, canceller: Canceller,
                 session=None):
        self._channel = channel
        self._session = session
        self._driver = driver
        self._batch_rows = batch_rows
        self._canceller = canceller
        self._handlers = {b"Q": self._query, b"P": self._prepare, b"M": self._many, b"Z": self._reset,
                          b"L": self._lock_timeout}
        self._catalog = None

    def _route(self, sql):
        """The driver for `sql` and the text it runs: catalog statements go
        to the in-memory pg_catalog (created on first use, brought up to
        date with the backend's schema first). On IRIS, PostgreSQL's session
        functions are answered here too (session_functions.py)."""
        to_catalog = False
        if self._driver.name != "sqlite":
            routed = session_functions.route(sql, self._session or session_names({}, self._driver))
            if routed is not None:
                to_catalog, sql = routed
        if to_catalog or Catalog.handles(sql):
            catalog = self._catalog
            if catalog is None:
                catalog = self._catalog = Catalog(self._driver.schema_reader(), self._session)
            catalog.refresh()
            return catalog.driver, catalog.translate(sql)
        if self._catalog is not None and is_ddl(sql):
            self._catalog.invalidate()
        return self._driver, sql

    def serve(self):
        """Answer requests until X or end of input."""
        while True:
            request = self._channel.read_frame()
            if request is None or request[0] == b"X":
                return
            tag, payload = request
            handler = self._handlers.get(tag)
            with self._canceller:
                try:
                    if handler is None:
                        raise WorkerError("08P01", "unknown request %r" % tag)
                    handler(payload)
                except WorkerError as error:
                    self._error(error)
                except (OSError, ProtocolError):
                    raise
                except Exception as exc:  # a bug here must not take the session down
                    log("request failed: %s" % traceback.format_exc())
                    self._error(WorkerError("XX000", "%s: %s" % (type(exc).__name__, exc)))

    def _error(self, error):
        try:
            in_transaction = self._driver.in_transaction()
        except Exception:  # the session itself is broken; the error still goes out
            in_transaction = False
        self._channel.send(error_frame(error, in_transaction))

    def _reset(self, _payload):
        """``Z``: the worker changes hands; drop what the last session left."""
        self._driver.reset()
        self._channel.send(frame(b"C", dumps((0, self._driver.in_transaction()))))

    def _lock_timeout(self, payload):
        """``L``: the session's lock wait in milliseconds (0: until cancelled).
        Unanswered: the front end writes it just before the statement it
        applies to. Drivers without the setting ignore it."""
        try:
            wait_ms = parse_lock_timeout(payload)
        except WorkerError as error:  # an E frame here would answer the next request
            raise ProtocolError(error.message)
        setter = getattr(self._driver, "set_lock_timeout", None)
        if setter is not None:
            try:
                setter(wait_ms)
            except WorkerError as error:  # the session goes on with the previous wait
                log("L: %s" % error.message)

    def _query(self, payload):
        flags, sql, params = parse_query(payload)
        send, batch_rows = self._channel.send, self._batch_rows
        driver, sql = self._route(sql)
        plan = split_returning(sql) if driver is self._driver and driver.name != "sqlite" else None
        if plan is not None:  # IRIS has no RETURNING (iris_returning.py)
            columns, fetch, rowcount = insert_returning(driver, plan, params, bool(flags & FLAG_DESCRIBE))
        else:
            columns, fetch = driver.execute(sql, params, bool(flags & FLAG_DESCRIBE))
            rowcount = None
        parts = []
        if columns is not None:
            parts += frame(b"D", dumps(columns))
            rows = fetch(batch_rows)
            while True:
                if rows:
                    parts += batch_frames(rows)
                if len(rows) < batch_rows:
                    break
                send(parts)  # stream: at most one batch is held here
                parts = []
                rows = fetch(batch_rows)
        # Small results leave as one write: D, B and C together.
        # The session's transaction state is the backend's, even after a catalog read.
        if rowcount is None:
            rowcount = driver.rowcount()
        send(parts + frame(b"C", dumps((rowcount, self._driver.in_transaction()))))

    def _many(self, payload):
        """One statement, run once per parameter tuple (COPY FROM STDIN's
        batches): answered with ``C`` and the rows changed, or ``E`` naming
        the tuple that failed. Never routed to the catalog."""
        sql, rows = parse_many(payload)
        count = self._driver.execute_many(sql, rows)
        self._channel.send(frame(b"C", dumps((count, self._driver.in_transaction()))))

    def _prepare(self, payload):
        driver, sql = self._route(parse_prepare(payload))
        plan = split_returning(sql) if driver is self._driver and driver.name != "sqlite" else None
        described = describe_returning(driver, plan) if plan is not None else driver.prepare(sql)
        self._channel.send(frame(b"T", dumps(described)))


def load_config(channel):
    """The start-up frame ``S``, checked: a JSON object naming a known driver.

    The configuration (the IRIS password included) comes down the request
    pipe, never through the environment, where /proc/<pid>/environ would
    show it and child processes would inherit it.
    """
    request = channel.read_frame()
    if request is None:
        raise WorkerError("F0000", "no start-up frame: the request pipe closed")
    tag, payload = request
    if tag != b"S":
        raise WorkerError("F0000", "expected the start-up frame S, got %r" % tag)
    try:
        config = json.loads(payload.decode("utf-8"))
    except ValueError as exc:
        raise WorkerError("F0000", "the start-up frame is not valid JSON: %s" % exc)
    if not isinstance(config, dict):
        raise WorkerError("F0000", "the start-up configuration must be a JSON object")
    if config.get("driver") not in DRIVERS:
        raise WorkerError("F0000", "unknown driver %r; expected one of %s" % (
            config.get("driver"), ", ".join(sorted(DRIVERS))))
    batch_rows = config.get("batch_rows", DEFAULT_BATCH_ROWS)
    if not isinstance(batch_rows, int) or batch_rows < 1:
        raise WorkerError("F0000", "batch_rows must be a positive integer")
    return config


def _embedded_credentials(config):
    """irispython's ``import iris`` logs in with IRISUSERNAME and IRISPASSWORD
    from the environment: set them, from the start-up frame, in this
    process's own environment just before the driver imports ``iris``. That
    changes neither /proc/<pid>/environ nor what the server passed down."""
    if config.get("driver") != "iris-embedded":
        return
    for key, variable in (("username", "IRISUSERNAME"), ("password", "IRISPASSWORD")):
        value = config.get(key)
        if isinstance(value, str):
            os.environ[variable] = value


def _private_stdio():
    """Move the protocol pipes to private descriptors.

    fd 1 then points at stderr and fd 0 at /dev/null, so a stray print() or a
    library writing to stdout (the IRIS runtime, for one) lands in the log
    instead of corrupting the frame stream.
    """
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(read_fd, write_fd)


def main():
    """Run one worker; the exit status (0 after ``X`` or end of input)."""
    canceller = Canceller()
    canceller.install()
    channel = _private_stdio()
    try:
        config = load_config(channel)
        _embedded_credentials(config)
        driver = DRIVERS[config["driver"]](config)
    except Exception as exc:
        if isinstance(exc, WorkerError):
            error = exc
        else:  # the front end still gets its E frame
            log("start-up failed: %s" % traceback.format_exc())
            error = WorkerError("08001", "could not start the session: %s: %s" % (type(exc).__name__, exc))
        log("start-up failed: %s %s" % (error.sqlstate, error.message))
        channel.send(error_frame(error, False))
        return 1
    canceller.set_driver(driver)
    channel.send(frame(b"R", dumps({
        "protocol": PROTOCOL_VERSION, "driver": driver.name,
        "server_version": driver.server_version, "pid": os.getpid()})))
    worker = Worker(channel, driver, config.get("batch_rows", DEFAULT_BATCH_ROWS), canceller,
                    session_names(config, driver))
    try:
        worker.serve()
    except ProtocolError as exc:
        log("protocol error: %s" % exc)
        return 1
    except BrokenPipeError:
        log("the front end closed the response pipe")
        return 1
    finally:
        try:
            driver.close()
        except Exception as exc:
            log("closing the session failed: %s" % exc)
    return 0
