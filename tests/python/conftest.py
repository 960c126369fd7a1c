"""Shared pytest fixtures for the Python test suites under tests/python.

``iriswire_server`` (session-scoped) runs the already-built iriswire binary
on free loopback ports with a throwaway data directory; it builds nothing.
The binary is ``$IRISWIRE_BIN`` (relative paths are taken from the repository
root), by default ``target/debug/iriswire``: run ``cargo build`` first.

``dbname`` gives each test its own PostgreSQL database name (a SQLite file
created on first use), derived from the test's name, so tests are independent.

Standard library only, so that test_worker.py (unittest, stdlib only) keeps
collecting on a machine without the client libraries.
"""

import hashlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join("target", "debug", "iriswire")
START_TIMEOUT_S = 20.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class IriswireServer:
    """A running iriswire: where it listens and how to reach a database."""

    user = "tester"

    def __init__(self, proc, host, port, http_port, data_dir, log_path):
        self.proc = proc
        self.host = host
        self.port = port
        self.http_port = http_port
        self.data_dir = data_dir
        self.log_path = log_path

    def conninfo(self, dbname):
        """A libpq key/value connection string (psycopg)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname):
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect_kwargs(self, dbname):
        """Keyword arguments for asyncpg.connect."""
        return {"host": self.host, "port": self.port, "user": self.user, "database": dbname}

    def libpq_env(self, dbname):
        """An environment for psql and other libpq programs, with no stray PG* settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGHOST=self.host,
            PGPORT=str(self.port),
            PGUSER=self.user,
            PGDATABASE=dbname,
            PGCONNECT_TIMEOUT="10",
        )
        return env

    def log_tail(self, limit=4000):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()[-limit:]
        except OSError:
            return ""


def resolve_binary():
    path = os.environ.get("IRISWIRE_BIN") or DEFAULT_BIN
    if not os.path.isabs(path):
        path = os.path.join(ROOT, path)
    return path


@pytest.fixture(scope="session")
def iriswire_server():
    binary = resolve_binary()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.skip(
            f"iriswire binary not found at {binary}: run `cargo build` "
            "(or point $IRISWIRE_BIN at a built binary)"
        )
    with tempfile.TemporaryDirectory(prefix="iriswire-clients-") as tmp:
        data_dir = os.path.join(tmp, "data")
        os.mkdir(data_dir)
        log_path = os.path.join(tmp, "iriswire.log")
        host = "127.0.0.1"
        port, http_port = free_port(), free_port()
        while http_port == port:
            http_port = free_port()
        env = dict(os.environ)
        env.setdefault("IRISWIRE_LOG_LEVEL", "warn")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    binary, "serve",
                    "--listen", f"{host}:{port}",
                    "--http-listen", f"{host}:{http_port}",
                    "--data-dir", data_dir,
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = IriswireServer(proc, host, port, http_port, data_dir, log_path)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not port_accepts(host, port):
                if proc.poll() is not None:
                    pytest.fail(
                        f"iriswire exited with status {proc.returncode} before listening:\n"
                        + server.log_tail()
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"iriswire did not accept on {host}:{port} within {START_TIMEOUT_S}s:\n"
                        + server.log_tail()
                    )
                time.sleep(0.05)
            yield server
        finally:
            stop(proc)


def stop(proc):
    """SIGTERM, then SIGKILL: the server's own process only (it reaps its workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def dbname(request):
    """A database name of this test's own: [a-z0-9_], at most 63 bytes, unique per test id."""
    base = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_") or "db"
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"{base[:50]}_{digest}"
