"""COPY through real clients on the embedded default: psql's ``\\copy``,
psycopg 3's ``cursor.copy`` (text and binary), and pgvector-python's
documented bulk load (``COPY items (embedding) FROM STDIN WITH (FORMAT
BINARY)`` writing ``Vector`` values).
"""

import os
import shutil
import subprocess

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is not installed (scripts/test-deps.sh)")
from psycopg import errors  # noqa: E402  (after the skip)

TABLE = "CREATE TABLE t (id integer PRIMARY KEY, name text, score double precision)"


def psql(server, dbname, *args, check=True):
    binary = next((p for p in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql"))
                   if p and os.path.exists(p)), None)
    if binary is None:
        pytest.skip("psql not found")
    r = subprocess.run([binary, "-X", "--no-password", "-v", "ON_ERROR_STOP=1", *args],
                       env=server.libpq_env(dbname), capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def rows(server, dbname, sql):
    with psycopg.connect(server.conninfo(dbname), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_psql_copy_text_and_csv_files(iriswire_server, dbname, tmp_path):
    psql(iriswire_server, dbname, "-c", TABLE)
    text = tmp_path / "in.tsv"
    text.write_text("1\tone\t1.5\n2\t\\N\t2\n3\ttab\\there\t-1\n")
    r = psql(iriswire_server, dbname, "-c", f"\\copy t from '{text}'")
    assert r.stdout.strip() == "COPY 3"
    csv = tmp_path / "in.csv"
    csv.write_text("id|name|score\n4|\"pipe|and \"\"quotes\"\"\"|NA\n5|NA|0.25\n")
    r = psql(iriswire_server, dbname, "-c",
             f"\\copy t from '{csv}' with (format csv, header, delimiter '|', null 'NA')")
    assert r.stdout.strip() == "COPY 2"
    assert rows(iriswire_server, dbname, "SELECT id, name, score FROM t ORDER BY id") == [
        (1, "one", 1.5), (2, None, 2.0), (3, "tab\there", -1.0),
        (4, 'pipe|and "quotes"', None), (5, None, 0.25)]

    out = tmp_path / "out.csv"
    psql(iriswire_server, dbname, "-c",
         f"\\copy t to '{out}' with (format csv, header, delimiter ';', null 'NULL')")
    assert out.read_text().splitlines() == [
        "id;name;score", "1;one;1.5", "2;NULL;2", "3;tab\there;-1",
        '4;"pipe|and ""quotes""";NULL', "5;NULL;0.25"]
    # The text format with a header, its own delimiter and NULL, and back.
    round_trip = tmp_path / "round_trip.txt"
    psql(iriswire_server, dbname, "-c",
         f"\\copy t to '{round_trip}' with (header, delimiter '|', null 'nil')")
    lines = round_trip.read_text().splitlines()
    assert lines[:3] == ["id|name|score", "1|one|1.5", "2|nil|2"]
    assert lines[4] == '4|pipe\\|and "quotes"|nil'
    psql(iriswire_server, dbname, "-c", TABLE.replace(" t ", " t2 "))
    r = psql(iriswire_server, dbname, "-c",
             f"\\copy t2 from '{round_trip}' with (header, delimiter '|', null 'nil')")
    assert r.stdout.strip() == "COPY 5"
    assert rows(iriswire_server, dbname, "SELECT * FROM t2 ORDER BY id") == \
        rows(iriswire_server, dbname, "SELECT * FROM t ORDER BY id")
    # The old syntax psql passes on as typed.
    out_text = tmp_path / "out.tsv"
    psql(iriswire_server, dbname, "-c", f"\\copy t (id, name) to '{out_text}'")
    assert out_text.read_text().splitlines()[:3] == ["1\tone", "2\t\\N", "3\ttab\\there"]

    r = psql(iriswire_server, dbname, "-At", "-c",
             "COPY (SELECT id, upper(name) FROM t WHERE id < 3 ORDER BY id) TO STDOUT WITH CSV")
    assert r.stdout.splitlines() == ["1,ONE", "2,"]


def test_psql_reports_the_bad_line(iriswire_server, dbname, tmp_path):
    psql(iriswire_server, dbname, "-c", TABLE)
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\ta\t1\n2\tb\t2\nabc\tc\t3\n4\td\t4\n")
    r = psql(iriswire_server, dbname, "-c", f"\\copy t from '{bad}'", check=False)
    assert r.returncode != 0
    assert 'invalid input syntax for type integer: "abc"' in r.stderr
    assert 'CONTEXT:  COPY t, line 3, column id: "abc"' in r.stderr
    assert rows(iriswire_server, dbname, "SELECT count(*) FROM t") == [(0,)]
    # Server files are for superusers, as in PostgreSQL; \copy is the way.
    r = psql(iriswire_server, dbname, "-c", "COPY t FROM '/etc/passwd'", check=False)
    assert "must be superuser or have privileges of the pg_read_server_files role" in r.stderr
    assert "psql's \\copy command also works for anyone" in r.stderr


def test_psycopg_copy_text_and_binary(iriswire_server, dbname):
    with psycopg.connect(iriswire_server.conninfo(dbname), autocommit=True) as conn:
        conn.execute(TABLE)
        cur = conn.cursor()
        with cur.copy("COPY t FROM STDIN") as copy:
            for i in range(1500):
                copy.write_row((i, None if i % 10 == 0 else f"row {i}\n", i / 8))
        assert cur.rowcount == 1500
        with cur.copy("COPY t (id, name, score) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "float8"])
            copy.write_row((5000, "binary \\ row", 2.5))
            copy.write_row((5001, None, None))
        assert cur.rowcount == 2
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1502,)
        assert conn.execute("SELECT name FROM t WHERE id = 3").fetchone() == ("row 3\n",)
        assert conn.execute("SELECT name, score FROM t WHERE id = 5000").fetchone() == ("binary \\ row", 2.5)

        with cur.copy("COPY (SELECT id, name, score FROM t WHERE id IN (1, 10, 5000) ORDER BY id) "
                      "TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "float8"])
            assert list(copy.rows()) == [(1, "row 1\n", 0.125), (10, None, 1.25),
                                         (5000, "binary \\ row", 2.5)]
        with cur.copy("COPY (SELECT id, name FROM t WHERE id < 3 ORDER BY id) TO STDOUT") as copy:
            assert list(copy.rows()) == [("0", None), ("1", "row 1\n"), ("2", "row 2\n")]


def test_psycopg_bad_row_and_copy_fail_leave_nothing(iriswire_server, dbname):
    with psycopg.connect(iriswire_server.conninfo(dbname), autocommit=True) as conn:
        conn.execute(TABLE)
        cur = conn.cursor()
        with pytest.raises(errors.InvalidTextRepresentation) as info:
            with cur.copy("COPY t FROM STDIN") as copy:
                copy.write(b"1\ta\t1\n2\tb\t2\nabc\tc\t3\n4\td\t4\n")
        assert info.value.sqlstate == "22P02"
        assert info.value.diag.context.strip() == 'COPY t, line 3, column id: "abc"'
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)

        # An exception inside the block makes psycopg send CopyFail.
        class Abandoned(Exception):
            pass

        with pytest.raises(Abandoned):
            with cur.copy("COPY t FROM STDIN") as copy:
                copy.write_row((1, "a", 1.0))
                raise Abandoned("changed my mind")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_copy_in_an_explicit_transaction_rolls_back(iriswire_server, dbname):
    with psycopg.connect(iriswire_server.conninfo(dbname)) as conn:
        conn.execute(TABLE)
        conn.commit()
        cur = conn.cursor()
        with cur.copy("COPY t FROM STDIN") as copy:
            copy.write_row((1, "a", 1.0))
            copy.write_row((2, "b", 2.0))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_pgvector_binary_bulk_load(iriswire_server, dbname):
    pytest.importorskip("pgvector", reason="pgvector-python is not installed")
    from pgvector import Vector
    from pgvector.psycopg import register_vector

    with psycopg.connect(iriswire_server.conninfo(dbname), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3))")
        embeddings = [[float(i), i / 4, -1.5] for i in range(1200)]
        cur = conn.cursor()
        # pgvector-python's README, with Vector instead of numpy arrays.
        with cur.copy("COPY items (embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["vector"])
            for embedding in embeddings:
                copy.write_row([Vector(embedding)])
        assert cur.rowcount == 1200
        got = conn.execute("SELECT embedding FROM items ORDER BY id").fetchall()
        assert [r[0].to_list() for r in got] == embeddings
        nearest = conn.execute("SELECT id FROM items ORDER BY embedding <-> %s LIMIT 1",
                               (Vector([7.0, 1.75, -1.5]),)).fetchone()
        assert nearest == (8,)
        with cur.copy("COPY items (embedding) TO STDOUT WITH (FORMAT BINARY)") as copy:
            copy.set_types(["vector"])
            out = [row[0].to_list() for row in copy.rows()]
        assert out == embeddings
