"""docker/entrypoint.sh, run for real on this machine with stand-ins.

No container engine runs here, so the test runs the entrypoint file itself
the way the image does, with what the image has replaced by stand-ins:

- IRIS: tests/entrypoint/bin/iris, on PATH, records `iris start` and
  `iris stop` with their times and which of the entrypoint's children were
  alive at the stop;
- irispython: python3 (the bridge workers run on the SQLite default);
- the image's paths: the environment variables the entrypoint reads, with
  the shipped docker/iriswire.toml moved onto free loopback ports.

It checks the start order, that the HEALTHCHECK commands of both Dockerfiles
pass against the running iriswire, and that SIGTERM lets a transaction
finish, iriswire exit with status 0, and only then `iris stop` run, all
within the stop budget docs/deployment.md documents (the Dockerfile's ENV
and compose's stop_grace_period).
"""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port, port_accepts, resolve_binary
from deploy_files import Dockerfile, ROOT, load_yaml, seconds

ENTRYPOINT = os.path.join(ROOT, "docker", "entrypoint.sh")
FAKE_IRIS_DIR = os.path.join(ROOT, "tests", "entrypoint", "bin")
USER, PASSWORD = "app", "app-password"
START_TIMEOUT_S = 30.0


def md5_verifier(user, password):
    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


class Run:
    """One run of the entrypoint: its process, ports, log and IRIS records."""

    def __init__(self, proc, tmp, port, http_port):
        self.proc = proc
        self.tmp = tmp
        self.port = port
        self.http_port = http_port

    @property
    def log(self):
        with open(os.path.join(self.tmp, "entrypoint.log"), errors="replace") as f:
            return f.read()

    def iris_calls(self):
        try:
            with open(os.path.join(self.tmp, "iris.jsonl")) as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []

    def iris_call(self, cmd):
        calls = [c for c in self.iris_calls() if c["cmd"] == cmd]
        assert len(calls) == 1, f"expected one `iris {cmd}`, got {calls}\n{self.log}"
        return calls[0]

    def iriswire_pid(self):
        for line in self.log.splitlines():
            if line.startswith("entrypoint: iriswire started (pid "):
                return int(line.rsplit(" ", 1)[1].rstrip(")"))
        return None

    def wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_accepts("127.0.0.1", self.port):
            assert self.proc.poll() is None, f"entrypoint exited with {self.proc.returncode}:\n{self.log}"
            assert time.monotonic() < deadline, f"iriswire did not listen within {START_TIMEOUT_S}s:\n{self.log}"
            time.sleep(0.05)

    def ready(self):
        """(status, body) of GET /health/ready."""
        url = f"http://127.0.0.1:{self.http_port}/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=3) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def conninfo(self, user=USER, password=PASSWORD, dbname="app"):
        return f"host=127.0.0.1 port={self.port} user={user} password={password} dbname={dbname}"


@pytest.fixture
def entrypoint(tmp_path):
    """Starts docker/entrypoint.sh with stand-ins; stops whatever is left at the end."""
    binary = resolve_binary()
    if not os.access(binary, os.X_OK):
        pytest.skip(f"iriswire binary not found at {binary}: run `cargo build`")
    runs = []

    def start(iriswire_bin=binary, users=((USER, PASSWORD),), **env_overrides):
        tmp = str(tmp_path / f"run{len(runs)}")
        os.makedirs(os.path.join(tmp, "data"))
        users_file = os.path.join(tmp, "users.toml")
        with open(users_file, "w") as f:
            for name, password in users:
                f.write(f'[[users]]\nname = "{name}"\npassword = "{md5_verifier(name, password)}"\n')
        with open(os.path.join(tmp, "iris-password"), "w") as f:
            f.write("iris-secret\n")
        port, http_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IRIS", "PG"))}
        env.update(
            PATH=FAKE_IRIS_DIR + os.pathsep + env["PATH"],
            FAKE_IRIS_LOG=os.path.join(tmp, "iris.jsonl"),
            # What the image's ENV gives (IRISWIRE_CONFIG is the shipped file).
            IRISWIRE_BIN=iriswire_bin,
            IRISWIRE_CONFIG=os.path.join(ROOT, "docker", "iriswire.toml"),
            IRISWIRE_EXIT_TIMEOUT_S=IMAGE_ENV["IRISWIRE_EXIT_TIMEOUT_S"],
            IRIS_STOP_BUDGET_S=IMAGE_ENV["IRIS_STOP_BUDGET_S"],
            IRIS_START_TIMEOUT_S="20",
            # What compose's environment gives.
            IRISUSERNAME="_SYSTEM",
            IRISPASSWORD_FILE=os.path.join(tmp, "iris-password"),
            IRISWIRE_USERS_FILE=users_file,
            IRISWIRE_RUNTIME_DIR=tmp,
            # The stand-ins: loopback ports, SQLite, python3 for irispython.
            IRISWIRE_LISTEN=f"127.0.0.1:{port}",
            IRISWIRE_HTTP_LISTEN=f"127.0.0.1:{http_port}",
            IRISWIRE_BACKEND="sqlite",
            IRISWIRE_DATA_DIR=os.path.join(tmp, "data"),
            IRISWIRE_BRIDGE_PYTHON=sys.executable,
            IRISWIRE_BRIDGE_WORKER_SCRIPT=os.path.join(ROOT, "iris", "iriswire_worker"),
            IRISWIRE_LOG_LEVEL="info",
        )
        env.update(env_overrides)
        with open(os.path.join(tmp, "entrypoint.log"), "wb") as log:
            proc = subprocess.Popen(
                [ENTRYPOINT], env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        run = Run(proc, tmp, port, http_port)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait(timeout=10)


IMAGE = Dockerfile("docker", "Dockerfile")
SLIM = Dockerfile("docker", "Dockerfile.slim")
IMAGE_ENV = IMAGE.env


def stop_budget_s():
    """What the entrypoint may take after SIGTERM: iriswire's exit budget plus iris stop's."""
    return float(IMAGE_ENV["IRISWIRE_EXIT_TIMEOUT_S"]) + float(IMAGE_ENV["IRIS_STOP_BUDGET_S"])


def run_healthcheck(dockerfile, run):
    """The Dockerfile's HEALTHCHECK command, with this Python for the image's."""
    interpreter, script = dockerfile.healthcheck["cmd"]
    assert os.path.basename(interpreter) in ("irispython", "python3"), interpreter
    env = dict(os.environ, IRISWIRE_HTTP_LISTEN=f"127.0.0.1:{run.http_port}")
    timeout = seconds(dockerfile.healthcheck["options"]["timeout"])
    return subprocess.run([sys.executable, dockerfile.repo_file(script)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_start_order_healthcheck_and_drain_before_iris_stop(entrypoint):
    psycopg = pytest.importorskip("psycopg")
    run = entrypoint()
    run.wait_listening()

    # IRIS first, then iriswire: it was not there while `iris start` ran nor
    # while qlist was asked, and the last qlist said "running".
    start = run.iris_call("start")
    assert start["args"] == ["quietly"] and start["name"] == "IRIS"
    pid = run.iriswire_pid()
    assert pid, run.log
    before = [c for c in run.iris_calls() if c["cmd"] in ("start", "qlist")]
    assert [c["cmd"] for c in before][0] == "start" and before[-1] == {**before[-1], "state": "running"}
    assert all(s[0] != pid and s[1] != "iriswire" for c in before for s in c["siblings"]), before
    assert "entrypoint: IRIS is running" in run.log

    # Both images' HEALTHCHECK commands pass once a worker answers SELECT 1.
    wait_for(lambda: run_healthcheck(IMAGE, run).returncode == 0, 20, "the IRIS image's HEALTHCHECK")
    slim_check = run_healthcheck(SLIM, run)
    assert slim_check.returncode == 0, slim_check.stdout + slim_check.stderr

    # A transaction open when SIGTERM arrives finishes: iriswire drains.
    conn = psycopg.connect(run.conninfo())
    conn.execute("CREATE TABLE drained (n integer)")
    conn.execute("INSERT INTO drained VALUES (1)")
    sigterm_at = time.time()
    os.kill(run.proc.pid, signal.SIGTERM)
    status, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(run.ready()), 5, "readiness to turn 503")
    assert "draining" in body, body
    failing = run_healthcheck(IMAGE, run)
    assert failing.returncode == 1, failing.stdout
    assert not [c for c in run.iris_calls() if c["cmd"] == "stop"], "iris stop ran while a transaction was open"
    conn.commit()
    committed_at = time.time()
    conn.close()

    assert run.proc.wait(timeout=stop_budget_s()) == 0, run.log
    exited_at = time.time()
    assert "entrypoint: iriswire exited with status 0" in run.log, run.log

    # iris stop came after iriswire had exited, and within the budget.
    stop = run.iris_call("stop")
    assert stop["args"] == ["quietly"] and stop["name"] == "IRIS"
    assert stop["began"] >= committed_at
    assert not [s for s in stop["siblings"] if s[0] == pid], f"iriswire still alive at iris stop: {stop}"
    assert exited_at - sigterm_at <= stop_budget_s()

    # The transaction committed during the drain is in the database.
    with sqlite3.connect(os.path.join(run.tmp, "data", "app.db")) as db:
        assert db.execute("SELECT n FROM drained").fetchall() == [(1,)]


def test_secrets_and_users_reach_iriswire_and_reload(entrypoint):
    """IRISPASSWORD_FILE becomes IRISPASSWORD; IRISWIRE_USERS_FILE's users log in; SIGHUP re-reads them."""
    psycopg = pytest.importorskip("psycopg")
    run = entrypoint(IRIS_CMD="")
    run.wait_listening()
    psycopg.connect(run.conninfo()).close()
    config = open(os.path.join(run.tmp, "iriswire-runtime.toml")).read()
    assert md5_verifier(USER, PASSWORD) in config
    assert "iris-secret" not in config, "the IRIS password must not be written to the config"
    assert oct(os.stat(os.path.join(run.tmp, "iriswire-runtime.toml")).st_mode & 0o777) == "0o600"
    environ = open(f"/proc/{run.iriswire_pid()}/environ", "rb").read().split(b"\0")
    assert b"IRISPASSWORD=iris-secret" in environ
    assert not [e for e in environ if e.startswith(b"IRISPASSWORD_FILE=")]

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(run.conninfo(user="bob", password="bob-password"))
    with open(os.path.join(run.tmp, "users.toml"), "a") as f:
        f.write(f'[[users]]\nname = "bob"\npassword = "{md5_verifier("bob", "bob-password")}"\n')
    os.kill(run.proc.pid, signal.SIGHUP)
    wait_for(lambda: "bob" in open(os.path.join(run.tmp, "iriswire-runtime.toml")).read(), 5, "the rebuilt config")

    def bob_logs_in():
        try:
            psycopg.connect(run.conninfo(user="bob", password="bob-password")).close()
            return True
        except psycopg.OperationalError:
            return False

    wait_for(bob_logs_in, 5, "bob's login after SIGHUP")
    assert run.proc.poll() is None, run.log
    os.kill(run.proc.pid, signal.SIGTERM)
    assert run.proc.wait(timeout=stop_budget_s()) == 0, run.log
    assert run.iris_calls() == [], "IRIS_CMD empty (the slim image): iris is never called"


def test_exit_budget_kills_an_iriswire_that_will_not_exit(entrypoint, tmp_path):
    """Past IRISWIRE_EXIT_TIMEOUT_S iriswire is killed, and IRIS still stops cleanly."""
    stubborn = tmp_path / "stubborn-iriswire"
    stubborn.write_text(
        f"#!{sys.executable}\n"
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "time.sleep(600)\n"
    )
    stubborn.chmod(0o755)
    run = entrypoint(iriswire_bin=str(stubborn), IRISWIRE_EXIT_TIMEOUT_S="1")
    pid = wait_for(run.iriswire_pid, 10, "the stand-in iriswire to start")
    time.sleep(0.3)
    sigterm_at = time.monotonic()
    os.kill(run.proc.pid, signal.SIGTERM)
    assert run.proc.wait(timeout=10) == 128 + signal.SIGKILL, run.log
    took = time.monotonic() - sigterm_at
    assert 1.0 <= took < 5.0, took
    assert "killing it" in run.log, run.log
    stop = run.iris_call("stop")
    assert not [s for s in stop["siblings"] if s[0] == pid], stop


def test_failed_iris_start_starts_nothing(entrypoint):
    run = entrypoint(FAKE_IRIS_FAIL_START="1")
    assert run.proc.wait(timeout=10) == 1, run.log
    assert "iris start IRIS failed" in run.log
    assert run.iriswire_pid() is None
    assert [c["cmd"] for c in run.iris_calls() if c["cmd"] != "qlist"] == ["start"]


def test_iris_that_never_runs_is_stopped_after_the_start_timeout(entrypoint):
    run = entrypoint(FAKE_IRIS_STAYS_DOWN="1", IRIS_START_TIMEOUT_S="1")
    assert run.proc.wait(timeout=15) == 1, run.log
    assert "IRIS did not report running within 1s" in run.log
    assert run.iriswire_pid() is None
    assert [c["cmd"] for c in run.iris_calls() if c["cmd"] != "qlist"] == ["start", "stop"]


def test_a_secret_given_twice_is_refused(entrypoint):
    run = entrypoint(IRISPASSWORD="also-set")
    assert run.proc.wait(timeout=10) == 1, run.log
    assert "both IRISPASSWORD and IRISPASSWORD_FILE are set" in run.log
    assert run.iris_calls() == []


def test_compose_grace_covers_the_budget_the_test_ran_with():
    """The budget the first test enforces is the one compose grants."""
    pytest.importorskip("yaml")
    compose = load_yaml("docker", "compose.yaml")
    grace = seconds(compose["services"]["iriswire"]["stop_grace_period"])
    assert stop_budget_s() < grace
