"""Clients that introspect: psql's describe commands, SQLAlchemy's inspector
(psycopg 3 and psycopg2), pgjdbc's DatabaseMetaData and asyncpg's type
codecs, against a running iriswire, reading the catalog the worker builds
from the backend's real schema (iris/iriswire_worker/catalog.py).

Every test makes its own tables in a database of its own and checks what the
client shows of them, not just that it ran. The last test runs the psql and
SQLAlchemy checks on the IRIS path (the stand-in ``iris`` module, both IRIS
drivers), where the schema comes from IRIS's INFORMATION_SCHEMA.

Install the clients with ``bash scripts/test-deps.sh``.
"""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, IriswireServer, free_port, port_accepts, resolve_binary, stop
from test_clients import psql_binary

DEPS_HINT = "run `bash scripts/test-deps.sh` to install the test clients"
JDBC_JAR = "/usr/share/java/postgresql.jar"

SCHEMA = [
    "CREATE TABLE meta_t (id integer PRIMARY KEY, name text NOT NULL UNIQUE,"
    " score double precision DEFAULT 1.5)",
    "CREATE TABLE meta_u (id bigint PRIMARY KEY, t_id integer REFERENCES meta_t (id) ON DELETE CASCADE,"
    " price numeric(10,2), label varchar(20) CHECK (length(label) > 1), seen timestamp,"
    " ok boolean, UNIQUE (price, seen))",
    "CREATE INDEX meta_u_seen ON meta_u (seen)",
]
# The IRIS translation has no CHECK constraints or cascades (IRIS lacks the first).
IRIS_SCHEMA = [
    "CREATE TABLE meta_t (id integer PRIMARY KEY, name varchar(40) NOT NULL UNIQUE,"
    " score double precision)",
    "CREATE TABLE meta_u (id bigint PRIMARY KEY, t_id integer REFERENCES meta_t (id),"
    " price numeric(10,2), label varchar(20), seen timestamp)",
    "CREATE INDEX meta_u_seen ON meta_u (seen)",
]


def psql(server, dbname, *args):
    r = subprocess.run([psql_binary(), "-X", "--no-password", "-v", "ON_ERROR_STOP=1", *args],
                       env=server.libpq_env(dbname), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def psql_input(server, dbname, script):
    r = subprocess.run([psql_binary(), "-X", "--no-password", "-At", "-v", "ON_ERROR_STOP=1"],
                       input=script, env=server.libpq_env(dbname), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def make_schema(server, dbname, statements=SCHEMA):
    for statement in statements:
        psql(server, dbname, "-c", statement)


# --------------------------------------------------------------------------
# psql
# --------------------------------------------------------------------------

def test_psql_describe_commands(iriswire_server, dbname):
    make_schema(iriswire_server, dbname)
    listing = psql(iriswire_server, dbname, "-c", r"\d")
    assert "public | meta_t | table | tester" in listing
    assert "public | meta_u | table | tester" in listing
    assert psql(iriswire_server, dbname, "-At", "-c", r"\dt") == (
        "public|meta_t|table|tester\npublic|meta_u|table|tester\n")

    table = psql(iriswire_server, dbname, "-c", r"\d meta_t")
    assert 'Table "public.meta_t"' in table
    lines = [" ".join(line.split()) for line in table.splitlines()]
    assert "id | integer | | not null |" in lines
    assert "name | text | | not null |" in lines
    assert "score | double precision | | | 1.5" in lines
    assert '"meta_t_pkey" PRIMARY KEY, btree (id)' in table
    assert '"meta_t_name_key" UNIQUE CONSTRAINT, btree (name)' in table
    assert 'TABLE "meta_u" CONSTRAINT "meta_u_t_id_fkey" FOREIGN KEY (t_id) REFERENCES meta_t(id)' \
        ' ON DELETE CASCADE' in table

    other = psql(iriswire_server, dbname, "-c", r"\d meta_u")
    lines = [" ".join(line.split()) for line in other.splitlines()]
    assert "price | numeric(10,2) | | |" in lines
    assert "label | character varying(20) | | |" in lines
    assert "seen | timestamp without time zone | | |" in lines
    assert "ok | boolean | | |" in lines
    assert '"meta_u_price_seen_key" UNIQUE CONSTRAINT, btree (price, seen)' in other
    assert '"meta_u_seen" btree (seen)' in other
    assert '"meta_u_label_check" CHECK ((length(label) > 1))' in other
    assert '"meta_u_t_id_fkey" FOREIGN KEY (t_id) REFERENCES meta_t(id) ON DELETE CASCADE' in other

    indexes = psql(iriswire_server, dbname, "-At", "-c", r"\di")
    assert indexes.splitlines() == [
        "public|meta_t_name_key|index|tester|meta_t", "public|meta_t_pkey|index|tester|meta_t",
        "public|meta_u_pkey|index|tester|meta_u", "public|meta_u_price_seen_key|index|tester|meta_u",
        "public|meta_u_seen|index|tester|meta_u"]
    assert psql(iriswire_server, dbname, "-At", "-c", r"\dn") == "public|tester\n"
    databases = psql(iriswire_server, dbname, "-At", "-c", r"\l")
    assert databases.startswith(dbname + "|tester|UTF8|")
    # psql -l connects to `postgres` and lists the database it is connected to.
    assert psql(iriswire_server, dbname, "-At", "-l").startswith("postgres|tester|UTF8|")
    roles = psql(iriswire_server, dbname, "-At", "-c", r"\du")
    assert roles.startswith("tester|Superuser")
    extensions = psql(iriswire_server, dbname, "-At", "-c", r"\dx")
    assert "vector|0.8.0|public|vector data type and ivfflat and hnsw access methods" in extensions
    assert "plpgsql|1.0|pg_catalog|PL/pgSQL procedural language" in extensions


def test_psql_gdesc_and_ddl_refresh(iriswire_server, dbname):
    make_schema(iriswire_server, dbname)
    described = psql_input(iriswire_server, dbname,
                           "SELECT meta_t.id, name, score, price FROM meta_t, meta_u \\gdesc\n")
    assert described.splitlines() == [
        "id|integer", "name|text", "score|double precision", "price|numeric"]
    # The catalog follows DDL, whichever session ran it.
    psql(iriswire_server, dbname, "-c", "ALTER TABLE meta_t ADD COLUMN extra date")
    assert "extra | date" in " ".join(psql(iriswire_server, dbname, "-c", r"\d meta_t").split())
    psql(iriswire_server, dbname, "-c", "DROP TABLE meta_u")
    assert "meta_u" not in psql(iriswire_server, dbname, "-c", r"\dt")


# --------------------------------------------------------------------------
# SQLAlchemy 2
# --------------------------------------------------------------------------

def check_inspector(url, checks=True):
    sa = pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed: " + DEPS_HINT)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:  # its first statement: select pg_catalog.version()
            assert conn.dialect.server_version_info[0] >= 15
        inspector = sa.inspect(engine)
        assert {"meta_t", "meta_u"} <= set(inspector.get_table_names())
        columns = {c["name"]: c for c in inspector.get_columns("meta_u")}
        assert isinstance(columns["id"]["type"], sa.BigInteger) and not columns["id"]["nullable"]
        assert isinstance(columns["price"]["type"], sa.Numeric)
        assert (columns["price"]["type"].precision, columns["price"]["type"].scale) == (10, 2)
        assert isinstance(columns["label"]["type"], sa.String) and columns["label"]["type"].length == 20
        assert columns["t_id"]["nullable"]
        t_columns = {c["name"]: c for c in inspector.get_columns("meta_t")}
        assert not t_columns["name"]["nullable"] and isinstance(t_columns["name"]["type"], sa.String)
        assert inspector.get_pk_constraint("meta_t")["constrained_columns"] == ["id"]
        indexes = {i["name"]: i for i in inspector.get_indexes("meta_u")}
        assert indexes["meta_u_seen"]["column_names"] == ["seen"]
        assert not indexes["meta_u_seen"]["unique"]
        fks = inspector.get_foreign_keys("meta_u")
        assert [(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in fks] == [(["t_id"], "meta_t", ["id"])]
        uniques = inspector.get_unique_constraints("meta_t")
        assert [u["column_names"] for u in uniques] == [["name"]]
        if checks:  # PostgreSQL's names; IRIS names its constraints itself
            assert inspector.get_pk_constraint("meta_u")["name"] == "meta_u_pkey"
            assert fks[0]["name"] == "meta_u_t_id_fkey"
            assert fks[0]["options"] == {"ondelete": "CASCADE"}
            assert uniques[0]["name"] == "meta_t_name_key"
            assert [u["column_names"] for u in inspector.get_unique_constraints("meta_u")] == [
                ["price", "seen"]]
        table = sa.Table("meta_u", sa.MetaData(), autoload_with=engine)
        assert [c.name for c in table.columns][:3] == ["id", "t_id", "price"]
        assert [c.name for c in table.primary_key.columns] == ["id"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_sqlalchemy_inspector(iriswire_server, dbname, driver):
    pytest.importorskip(driver, reason=f"{driver} is not installed: {DEPS_HINT}")
    make_schema(iriswire_server, dbname)
    check_inspector(f"postgresql+{driver}://{iriswire_server.user}@{iriswire_server.host}:"
                    f"{iriswire_server.port}/{dbname}")


# --------------------------------------------------------------------------
# pgjdbc
# --------------------------------------------------------------------------

def test_jdbc_database_metadata(iriswire_server, dbname, tmp_path):
    if not (os.path.exists(JDBC_JAR) and shutil.which("javac") and shutil.which("java")):
        pytest.skip("pgjdbc or a JDK is missing: " + DEPS_HINT)
    make_schema(iriswire_server, dbname)
    source = os.path.join(ROOT, "tests", "java", "JdbcMetadata.java")
    subprocess.run(["javac", "-d", str(tmp_path), source], check=True, timeout=120)
    url = "jdbc:postgresql://%s:%d/%s?user=%s" % (
        iriswire_server.host, iriswire_server.port, dbname, iriswire_server.user)
    r = subprocess.run(["java", "-cp", "%s:%s" % (tmp_path, JDBC_JAR), "JdbcMetadata", url],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]

    def of(call):
        return [row[1:] for row in rows if row[0] == call]

    assert [row[2] for row in of("tables")] == ["meta_t", "meta_u"]
    columns = of("columns")
    # COLUMN_NAME, DATA_TYPE (java.sql.Types), TYPE_NAME, NULLABLE (columnNoNulls = 0).
    assert [(c[3], c[4], c[5], c[10]) for c in columns] == [
        ("id", "4", "int4", "0"), ("name", "12", "text", "0"), ("score", "8", "float8", "1")]
    assert columns[2][12] == "1.5"  # COLUMN_DEF
    assert of("pk") == [["null", "public", "meta_t", "id", "1", "meta_t_pkey"]]
    assert ["public", "public"][0] in [row[0] for row in of("schemas")]
    type_names = {row[0] for row in of("typeinfo")}
    assert {"int4", "text", "numeric", "vector"} <= type_names
    index = [(row[5], row[7], row[8], row[3]) for row in of("index")]
    assert index == [("meta_t_name_key", "1", "name", "f"), ("meta_t_pkey", "1", "id", "f")]


# --------------------------------------------------------------------------
# asyncpg
# --------------------------------------------------------------------------

def test_asyncpg_type_codecs(iriswire_server, dbname):
    asyncpg = pytest.importorskip("asyncpg", reason="asyncpg is not installed: " + DEPS_HINT)

    async def run():
        conn = await asyncpg.connect(**iriswire_server.connect_kwargs(dbname))
        try:
            await conn.set_type_codec("json", schema="pg_catalog", encoder=json.dumps,
                                      decoder=json.loads)
            assert await conn.fetchval("""SELECT '{"a": [1, 2]}'::json""") == {"a": [1, 2]}
            # A codec of its own for vector: asyncpg looks the type up in pg_type.
            await conn.set_type_codec(
                "vector", schema="public", format="text",
                encoder=lambda v: "[" + ",".join(str(x) for x in v) + "]",
                decoder=lambda text: tuple(float(x) for x in text.strip("[]").split(",")))
            await conn.execute("CREATE TABLE meta_v (id int PRIMARY KEY, embedding vector(3))")
            await conn.execute("INSERT INTO meta_v VALUES ($1, $2)", 1, (1.0, 2.5, -3.0))
            assert await conn.fetchval("SELECT embedding FROM meta_v WHERE id = 1") == (1.0, 2.5, -3.0)
        finally:
            await conn.close()

    asyncio.run(run())


# --------------------------------------------------------------------------
# The IRIS path: the schema from IRIS's INFORMATION_SCHEMA (the stand-in)
# --------------------------------------------------------------------------

def start_standin_server(backend, tmp):
    binary = resolve_binary()
    if not os.path.isfile(binary):
        pytest.skip("iriswire binary not found at %s: run `cargo build`" % binary)
    data_dir = os.path.join(tmp, "data")
    os.mkdir(data_dir)
    host, port, http_port = "127.0.0.1", free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests", "iris_standin"),
               IRIS_STANDIN_DB=os.path.join(tmp, "iris.db"), IRISWIRE_BRIDGE_PYTHON="python3",
               IRIS_STANDIN_STRICT="1",
               IRISHOSTNAME="127.0.0.1", IRISUSERNAME="_SYSTEM", IRISPASSWORD="SYS",
               IRISWIRE_LOG_LEVEL="warn")
    log_path = os.path.join(tmp, "iriswire.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--backend", backend, "--listen", "%s:%d" % (host, port),
             "--http-listen", "%s:%d" % (host, http_port), "--data-dir", data_dir],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    server = IriswireServer(proc, host, port, http_port, data_dir, log_path)
    deadline = time.monotonic() + 20
    while not port_accepts(host, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail("iriswire on the stand-in did not start:\n" + server.log_tail())
        time.sleep(0.05)
    return server


@pytest.mark.parametrize("backend", ["iris-native", "iris-embedded"])
def test_introspection_on_the_iris_standin(backend):
    with tempfile.TemporaryDirectory(prefix="iriswire-introspect-") as tmp:
        server = start_standin_server(backend, tmp)
        try:
            make_schema(server, "user", IRIS_SCHEMA)
            table = psql(server, "user", "-c", r"\d meta_u")
            lines = [" ".join(line.split()) for line in table.splitlines()]
            assert 'Table "public.meta_u"' in table
            assert "id | bigint | | not null |" in lines
            assert "price | numeric(10,2) | | |" in lines
            assert "label | character varying(20) | | |" in lines
            assert '"meta_u_seen" btree (seen)' in table
            assert "FOREIGN KEY (t_id) REFERENCES meta_t(id)" in table
            assert [line.split("|")[:3] for line in psql(server, "user", "-At", "-c", r"\dt").split()] \
                == [["public", "meta_t", "table"], ["public", "meta_u", "table"]]
            check_inspector("postgresql+psycopg://%s@%s:%d/user" % (
                server.user, server.host, server.port), checks=False)
        finally:
            stop(server.proc)
