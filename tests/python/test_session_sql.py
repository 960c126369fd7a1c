"""Session SQL with real clients against a running iriswire (embedded SQLite).

PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE, transaction
characteristics, read-only transactions and the implicit transaction block
of a multi-statement Query, through psql, psycopg 3 (server-side cursors)
and asyncpg. The server comes from the session fixture ``iriswire_server``
(conftest.py); every test has a database of its own (``dbname``).
"""

import asyncio
import os
import shutil
import subprocess

import pytest

ROWS = 1000


def need_psycopg():
    return pytest.importorskip("psycopg", reason="psycopg 3 is not installed: run `bash scripts/test-deps.sh`")


def need_asyncpg():
    return pytest.importorskip("asyncpg", reason="asyncpg is not installed: run `bash scripts/test-deps.sh`")


def connect(server, dbname, **kwargs):
    psycopg = need_psycopg()
    return psycopg.connect(server.conninfo(dbname), connect_timeout=10, **kwargs)


def psql(server, dbname, *args, stdin=None):
    binary = next(
        (p for p in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql")) if p and os.access(p, os.X_OK)),
        None,
    )
    if binary is None:
        pytest.skip("psql not found: apt-get install postgresql-client")
    return subprocess.run(
        [binary, "-X", "--no-password", *args],
        env=server.libpq_env(dbname),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_table(server, dbname, rows=ROWS):
    with connect(server, dbname, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO items VALUES (%s, %s)", [(i, f"n{i}") for i in range(1, rows + 1)])


# --------------------------------------------------------------------------
# psql
# --------------------------------------------------------------------------

def test_psql_prepare_execute_deallocate(iriswire_server, dbname):
    make_table(iriswire_server, dbname, rows=5)
    script = """
PREPARE pick (int) AS SELECT id, name FROM items WHERE id >= $1 ORDER BY id;
EXECUTE pick(4);
EXECUTE pick('5');
EXECUTE pick(1, 2);
PREPARE pick AS SELECT 1;
PREPARE put (int, text) AS INSERT INTO items VALUES ($1, $2);
EXECUTE put(6, 'six');
DEALLOCATE pick;
EXECUTE pick(1);
DEALLOCATE pick;
DEALLOCATE ALL;
EXECUTE put(7, 'seven');
SELECT count(*) FROM items;
"""
    r = psql(iriswire_server, dbname, "-At", stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n") == [
        "PREPARE", "4|n4", "5|n5", "5|n5", "PREPARE", "INSERT 0 1", "DEALLOCATE", "DEALLOCATE ALL", "6", "",
    ], r.stdout
    assert r.stderr.splitlines() == [
        'ERROR:  wrong number of parameters for prepared statement "pick"',
        "DETAIL:  Expected 1 parameters but got 2.",
        'ERROR:  prepared statement "pick" already exists',
        'ERROR:  prepared statement "pick" does not exist',
        'ERROR:  prepared statement "pick" does not exist',
        'ERROR:  prepared statement "put" does not exist',
    ], r.stderr


def test_psql_c_runs_its_statements_as_one_transaction(iriswire_server, dbname):
    make_table(iriswire_server, dbname, rows=1)
    r = psql(iriswire_server, dbname, "-c",
             "INSERT INTO items VALUES (2, 'two'); INSERT INTO items VALUES (3, 'three'); INSERT INTO items VALUES (1, 'dup')")
    assert r.returncode != 0
    assert "duplicate key" in r.stderr
    r = psql(iriswire_server, dbname, "-At", "-c", "SELECT count(*) FROM items")
    assert r.stdout.strip() == "1", "the first two INSERTs must have rolled back"
    # A COMMIT in the string commits what precedes it.
    r = psql(iriswire_server, dbname, "-c",
             "BEGIN; INSERT INTO items VALUES (2, 'two'); COMMIT; INSERT INTO items VALUES (3, 'three'); SELECT 1/0")
    assert "division by zero" in r.stderr
    r = psql(iriswire_server, dbname, "-At", "-c", "SELECT id FROM items ORDER BY id")
    assert r.stdout.split() == ["1", "2"]
    r = psql(iriswire_server, dbname, "-c", "SELECT 1; VACUUM")
    assert "VACUUM cannot run inside a transaction block" in r.stderr


def test_psql_declare_and_fetch_in_a_transaction(iriswire_server, dbname):
    make_table(iriswire_server, dbname, rows=10)
    script = """
DECLARE early CURSOR FOR SELECT 1;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM items ORDER BY id;
FETCH 3 FROM c;
MOVE FORWARD 4 IN c;
FETCH NEXT FROM c;
FETCH ALL FROM c;
CLOSE c;
COMMIT;
"""
    r = psql(iriswire_server, dbname, "-At", stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n") == [
        "BEGIN", "DECLARE CURSOR", "1", "2", "3", "MOVE 4", "8", "9", "10", "CLOSE CURSOR", "COMMIT", "",
    ], r.stdout
    assert r.stderr.strip() == "ERROR:  DECLARE CURSOR can only be used in transaction blocks"


def test_psql_fetch_count_reads_through_a_cursor(iriswire_server, dbname):
    make_table(iriswire_server, dbname, rows=25)
    # FETCH_COUNT makes psql DECLARE a cursor and FETCH 10 rows at a time.
    r = psql(iriswire_server, dbname, "-At", "-v", "FETCH_COUNT=10", "-v", "ON_ERROR_STOP=1",
             "-c", "SELECT id FROM items ORDER BY id")
    assert r.returncode == 0, r.stderr
    assert [int(x) for x in r.stdout.split()] == list(range(1, 26))


# --------------------------------------------------------------------------
# psycopg 3 server-side (named) cursors
# --------------------------------------------------------------------------

def test_psycopg_named_cursor_streams_in_batches(iriswire_server, dbname):
    make_table(iriswire_server, dbname)
    with connect(iriswire_server, dbname) as conn:
        with conn.cursor(name="walk") as cur:
            cur.itersize = 64
            cur.execute("SELECT id, name FROM items WHERE id > %s ORDER BY id", (10,))
            assert [d.name for d in cur.description] == ["id", "name"]
            assert [d.type_code for d in cur.description] == [23, 25]
            rows = list(cur)
        assert len(rows) == ROWS - 10
        assert rows[0] == (11, "n11") and rows[-1] == (ROWS, f"n{ROWS}")
        # fetchmany / fetchone / scroll forward on the same kind of cursor.
        with conn.cursor(name="parts") as cur:
            cur.execute("SELECT id FROM items ORDER BY id")
            assert cur.fetchmany(3) == [(1,), (2,), (3,)]
            cur.scroll(5)
            assert cur.fetchone() == (9,)
            with pytest.raises(need_psycopg().errors.FeatureNotSupported):
                cur.scroll(-2)  # NO SCROLL by default in iriswire
        conn.rollback()
        with conn.cursor(name="back", scrollable=True) as cur:
            cur.execute("SELECT id FROM items ORDER BY id")
            cur.scroll(100, mode="absolute")
            assert cur.fetchone() == (101,)
            cur.scroll(-11)
            assert cur.fetchone() == (91,)
        with conn.cursor(name="bin", binary=True) as cur:
            cur.execute("SELECT id, name FROM items WHERE id <= %s ORDER BY id", (3,))
            assert cur.fetchall() == [(1, "n1"), (2, "n2"), (3, "n3")]
        conn.commit()


def test_psycopg_named_cursor_with_hold_outlives_the_commit(iriswire_server, dbname):
    make_table(iriswire_server, dbname)
    with connect(iriswire_server, dbname) as conn:
        cur = conn.cursor(name="kept", withhold=True)
        cur.itersize = 100
        cur.execute("SELECT id FROM items ORDER BY id")
        assert cur.fetchone() == (1,)
        conn.commit()
        # The other rows were read into iriswire at COMMIT; the session is free.
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (ROWS,)
        conn.commit()
        rest = cur.fetchall()
        assert rest[0] == (2,) and len(rest) == ROWS - 1
        cur.close()
        conn.commit()
    # Without a transaction a cursor needs WITH HOLD, as in PostgreSQL.
    psycopg = need_psycopg()
    with connect(iriswire_server, dbname, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction) as e:
            with conn.cursor(name="loose") as cur:
                cur.execute("SELECT 1")
        assert "DECLARE CURSOR can only be used in transaction blocks" in str(e.value)
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT id FROM items WHERE id <= 3 ORDER BY id")
            assert cur.fetchall() == [(1,), (2,), (3,)]


def test_psycopg_transaction_characteristics(iriswire_server, dbname):
    psycopg = need_psycopg()
    make_table(iriswire_server, dbname, rows=1)
    for level, shown in [
        (psycopg.IsolationLevel.READ_COMMITTED, "read committed"),
        (psycopg.IsolationLevel.REPEATABLE_READ, "repeatable read"),
        (psycopg.IsolationLevel.SERIALIZABLE, "serializable"),
    ]:
        with connect(iriswire_server, dbname) as conn:
            conn.isolation_level = level
            assert conn.execute("SHOW transaction_isolation").fetchone() == (shown,)
    with connect(iriswire_server, dbname) as conn:
        conn.read_only = True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO items VALUES (2, 'x')")


# --------------------------------------------------------------------------
# asyncpg
# --------------------------------------------------------------------------

def run(coro):
    return asyncio.run(coro)


def test_asyncpg_prepared_statements_and_cursors(iriswire_server, dbname):
    asyncpg = need_asyncpg()
    make_table(iriswire_server, dbname)

    async def main():
        conn = await asyncpg.connect(**iriswire_server.connect_kwargs(dbname))
        try:
            st = await conn.prepare("SELECT id, name FROM items WHERE id <= $1 ORDER BY id")
            assert [tuple(r) for r in await st.fetch(2)] == [(1, "n1"), (2, "n2")]
            assert await st.fetchval(1) == 1
            assert [a.name for a in st.get_attributes()] == ["id", "name"]
            # SQL PREPARE/EXECUTE through the extended protocol.
            await conn.execute("PREPARE named_q (int) AS SELECT name FROM items WHERE id = $1")
            assert await conn.fetchval("EXECUTE named_q(7)") == "n7"
            await conn.execute("DEALLOCATE named_q")
            async with conn.transaction():
                cur = await conn.cursor("SELECT id FROM items ORDER BY id")
                assert [r["id"] for r in await cur.fetch(3)] == [1, 2, 3]
                assert (await cur.fetchrow())["id"] == 4
                # A second cursor, and other statements, while the first is open.
                other = await conn.cursor("SELECT id FROM items ORDER BY id DESC")
                assert (await other.fetchrow())["id"] == ROWS
                assert await conn.fetchval("SELECT count(*) FROM items") == ROWS
                # forward() is MOVE on the cursor's portal, by a simple Query.
                assert await cur.forward(5) == 5
                assert [r["id"] for r in await cur.fetch(2)] == [10, 11]
                assert (await other.fetchrow())["id"] == ROWS - 1
            async with conn.transaction():
                seen = [r["id"] async for r in conn.cursor("SELECT id FROM items ORDER BY id", prefetch=50)]
                assert seen == list(range(1, ROWS + 1))
            # SQL cursors through asyncpg's simple and extended paths.
            async with conn.transaction():
                await conn.execute("DECLARE sc CURSOR FOR SELECT id FROM items ORDER BY id")
                assert [r["id"] for r in await conn.fetch("FETCH 2 FROM sc")] == [1, 2]
                await conn.execute("MOVE 3 IN sc")
                assert await conn.fetchval("FETCH NEXT FROM sc") == 6
        finally:
            await conn.close()

    run(main())


def test_asyncpg_isolation_levels_and_read_only(iriswire_server, dbname):
    asyncpg = need_asyncpg()
    make_table(iriswire_server, dbname, rows=1)

    async def main():
        conn = await asyncpg.connect(**iriswire_server.connect_kwargs(dbname))
        try:
            for iso, shown in [
                ("read_committed", "read committed"),
                ("read_uncommitted", "read uncommitted"),
                ("repeatable_read", "repeatable read"),
                ("serializable", "serializable"),
            ]:
                async with conn.transaction(isolation=iso):
                    assert await conn.fetchval("SHOW transaction_isolation") == shown
                    assert await conn.fetchval("SELECT count(*) FROM items") == 1
            assert await conn.fetchval("SHOW transaction_isolation") == "read committed"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError) as e:
                async with conn.transaction(readonly=True):
                    assert await conn.fetchval("SHOW transaction_read_only") == "on"
                    await conn.execute("INSERT INTO items VALUES (2, 'x')")
            assert e.value.sqlstate == "25006"
            assert str(e.value) == "cannot execute INSERT in a read-only transaction"
            async with conn.transaction(isolation="serializable", readonly=True, deferrable=True):
                assert await conn.fetchval("SHOW transaction_deferrable") == "on"
            assert await conn.fetchval("SELECT count(*) FROM items") == 1
        finally:
            await conn.close()

    run(main())
