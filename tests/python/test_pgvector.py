"""pgvector's SQL end to end through psycopg 3 and pgvector-python.

The embedded default answers the same translated SQL the IRIS path gets
(IRIS's vector functions, registered by the worker). Distances are checked
against plain-Python reference arithmetic; `register_vector` must find the
`vector` type in pg_type (the bridge's catalog emulation), as against
PostgreSQL.

Needs the iriswire binary (tests/python/conftest.py), psycopg 3 and
pgvector-python (scripts/test-deps.sh installs both). pgvector-python needs
no numpy: its `Vector` class wraps a plain list, and register_vector's
dumpers send it in pgvector's text or binary form.
"""

import math
import random

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg 3 is not installed (scripts/test-deps.sh)")
pgvector_psycopg = pytest.importorskip(
    "pgvector.psycopg", reason="pgvector-python is not installed (scripts/test-deps.sh installs it)")
from pgvector import Vector  # noqa: E402  (after the skip)
from psycopg.types import TypeInfo  # noqa: E402

DIMS = 3
VECTOR_OID = 16385
# Query vectors; with the seed below no two distances to any of them are
# within 1e-3 among the first nine ranks (test_reference_has_no_ties), so
# the expected order is unambiguous through LIMIT 5 OFFSET 2.
QUERIES = ([1.5, -2.0, 3.0], [0.5, 1.0, -1.5], [-2.0, 0.5, 1.0])
SEED = 20261147


def make_vectors():
    """20 distinct non-zero vectors of halves in [-4, 4]: exact in float4,
    so pgvector's float4 sums are exact too."""
    rng = random.Random(SEED)
    data = {}
    while len(data) < 20:
        v = [rng.randint(-8, 8) / 2 for _ in range(DIMS)]
        if any(v) and v not in data.values():
            data[len(data) + 1] = v
    return data


VECTORS = make_vectors()


def l2(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def cosine(a, b):
    return 1 - dot(a, b) / math.sqrt(dot(a, a) * dot(b, b))


def neg_inner(a, b):
    return -dot(a, b)


REFERENCE = {"<->": l2, "<=>": cosine, "<#>": neg_inner}


def close(got, want):
    return got == pytest.approx(want, rel=1e-6, abs=1e-12)


def ranked(op, query):
    """[(id, distance)] in ascending distance, by plain-Python arithmetic."""
    return sorted(((i, REFERENCE[op](v, query)) for i, v in VECTORS.items()),
                  key=lambda pair: pair[1])


def connect(server, dbname):
    conn = psycopg.connect(server.conninfo(dbname), autocommit=True, connect_timeout=10)
    pgvector_psycopg.register_vector(conn)
    return conn


@pytest.fixture
def items(iriswire_server, dbname):
    conn = psycopg.connect(iriswire_server.conninfo(dbname), autocommit=True, connect_timeout=10)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # After CREATE EXTENSION, as an application does against PostgreSQL.
    pgvector_psycopg.register_vector(conn)
    conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3))")
    with conn.cursor() as cur:
        for i, v in VECTORS.items():
            # %s: psycopg picks register_vector's binary dumper (OID 16385).
            cur.execute("INSERT INTO items (embedding) VALUES (%s) RETURNING id", (Vector(v),))
            assert cur.fetchone()[0] == i
    yield conn
    conn.close()


def test_reference_has_no_ties():
    for op in REFERENCE:
        for query in QUERIES:
            distances = [d for _, d in ranked(op, query)[:9]]
            gaps = [b - a for a, b in zip(distances, distances[1:])]
            assert min(gaps) > 1e-3, (op, query, distances)


def test_register_vector_finds_the_type(iriswire_server, dbname):
    conn = connect(iriswire_server, dbname)
    with conn:
        info = TypeInfo.fetch(conn, "vector")
        assert (info.name, info.oid, info.array_oid, info.regtype, info.delimiter) == (
            "vector", VECTOR_OID, 16386, "vector", ",")
        assert TypeInfo.fetch(conn, "halfvec") is None
        assert conn.execute("SELECT oid FROM pg_type WHERE typname = 'vector'").fetchone()[0] == VECTOR_OID
        rows = conn.execute(
            "SELECT typname, oid FROM pg_type WHERE typname IN ('vector', 'halfvec', 'sparsevec')"
        ).fetchall()
        assert rows == [("vector", VECTOR_OID)]
        assert conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0] == VECTOR_OID
        # The catalog read leaves the session as it found it.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytest.mark.parametrize("op", ["<->", "<=>", "<#>"])
def test_top_k_matches_reference(items, op):
    conn = items
    for query in QUERIES:
        q = Vector(query)
        want = ranked(op, query)
        for tail, window in (("LIMIT 5", want[:5]), ("LIMIT 5 OFFSET 2", want[2:7])):
            rows = conn.execute(
                f"SELECT id, embedding {op} %s AS d FROM items ORDER BY embedding {op} %s {tail}",
                (q, q),
            ).fetchall()
            assert [r[0] for r in rows] == [i for i, _ in window], (op, query, tail, rows)
            for (_, got), (_, ref) in zip(rows, window):
                assert close(got, ref), (op, query, tail, got, ref)
        # A bound LIMIT/OFFSET (the IRIS path keeps LIMIT ? rather than TOP).
        rows = conn.execute(
            f"SELECT id, embedding {op} %s AS d FROM items ORDER BY embedding {op} %s LIMIT %s OFFSET %s",
            (q, q, 4, 2),
        ).fetchall()
        assert [r[0] for r in rows] == [i for i, _ in want[2:6]]


def test_functions_match_reference(items):
    conn = items
    for query in QUERIES:
        q = Vector(query)
        rows = conn.execute(
            "SELECT id, l2_distance(embedding, %s), cosine_distance(embedding, %s),"
            " inner_product(embedding, %s), vector_dims(embedding) FROM items ORDER BY id",
            (q, q, q),
        ).fetchall()
        assert [r[0] for r in rows] == list(VECTORS)
        for i, l2_d, cos_d, inner, dims in rows:
            v = VECTORS[i]
            assert close(l2_d, l2(v, query)), (i, l2_d)
            assert close(cos_d, cosine(v, query)), (i, cos_d)
            # pgvector's inner_product is the plain dot product (<#> negates it).
            assert close(inner, dot(v, query)), (i, inner)
            assert dims == DIMS


def test_values_round_trip_in_text_and_binary(items):
    conn = items
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            got = cur.execute("SELECT embedding FROM items WHERE id = 1").fetchone()[0]
            assert isinstance(got, Vector)
            assert got.to_list() == VECTORS[1]
            everything = cur.execute("SELECT id, embedding FROM items ORDER BY id").fetchall()
            assert {i: e.to_list() for i, e in everything} == VECTORS
    # Parameters in pgvector's text form (%t) as well as binary (%b).
    conn.execute("INSERT INTO items (id, embedding) VALUES (%t, %t)", (101, Vector([0.25, -1.5, 3.0])))
    conn.execute("INSERT INTO items (id, embedding) VALUES (%b, %b)", (102, Vector([0.25, -1.5, 3.0])))
    rows = conn.execute("SELECT embedding FROM items WHERE id IN (101, 102) ORDER BY id").fetchall()
    assert [r[0].to_list() for r in rows] == [[0.25, -1.5, 3.0]] * 2


def test_text_input_comes_back_in_pgvector_form(items):
    # PostgreSQL stores the parsed vector: whatever spelling went in, vector_out
    # prints the shortest float4 digits, no spaces (docs/iris-vector-notes.md).
    conn = items
    conn.execute("INSERT INTO items (id, embedding) VALUES (%t, %t)", (101, Vector([0.25, -1.5, 3.0])))
    conn.execute("INSERT INTO items (id, embedding) VALUES (102, ' [ 2.50, 1e1,-0.0 ] ')")
    conn.execute("INSERT INTO items (id, embedding) VALUES (%b, %b)", (103, Vector([0.25, -1.5, 3.0])))
    conn.execute("UPDATE items SET embedding = %t WHERE id = 1", (Vector([4.0, 0.5, -2.0]),))
    plain = psycopg.connect(conn.info.dsn, autocommit=True, connect_timeout=10)  # no vector loaders
    with plain:
        rows = plain.execute(
            "SELECT id, embedding FROM items WHERE id IN (1, 101, 102, 103) ORDER BY id"
        ).fetchall()
    assert rows == [
        (1, "[4,0.5,-2]"),
        (101, "[0.25,-1.5,3]"),
        (102, "[2.5,10,-0]"),
        (103, "[0.25,-1.5,3]"),
    ]
    # Vector parameters are stored in pgvector's spelling too, so a cast to
    # text agrees (a literal in the SQL text keeps its own: docs/compatibility.md).
    with psycopg.connect(conn.info.dsn, autocommit=True, connect_timeout=10) as plain:
        texts = plain.execute(
            "SELECT id, embedding::text FROM items WHERE id IN (1, 101, 103) ORDER BY id"
        ).fetchall()
    assert texts == [(1, "[4,0.5,-2]"), (101, "[0.25,-1.5,3]"), (103, "[0.25,-1.5,3]")]


def test_hnsw_index_and_ivfflat(items):
    conn = items
    conn.execute(
        "CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)"
        " WITH (m = 16, ef_construction = 64)"
    )
    # No IRIS equivalent, but accepted on the SQLite default (which scans).
    conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    with pytest.raises(psycopg.Error) as ivfflat:
        conn.execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 10)")
    assert ivfflat.value.sqlstate == "0A000"
    # The queries still answer after the DDL.
    want = ranked("<=>", QUERIES[0])[:3]
    rows = conn.execute(
        "SELECT id FROM items ORDER BY embedding <=> %s LIMIT 3", (Vector(QUERIES[0]),)
    ).fetchall()
    assert [r[0] for r in rows] == [i for i, _ in want]


def test_input_errors(items):
    conn = items
    with pytest.raises(psycopg.Error) as bad:
        conn.execute("SELECT '[1,2'::vector")
    assert bad.value.sqlstate == "22P02"
    for statement, params in (
        ("INSERT INTO items (id, embedding) VALUES (99, %b)", (Vector([1.0, 2.0]),)),
        ("INSERT INTO items (id, embedding) VALUES (99, %t)", (Vector([1.0, 2.0]),)),
        ("INSERT INTO items (id, embedding) VALUES (99, '[1,2]')", None),
    ):
        with pytest.raises(psycopg.Error) as dims:
            conn.execute(statement, params)
        assert dims.value.sqlstate == "22000", statement
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == len(VECTORS)


def test_asyncpg_register_vector(iriswire_server, dbname):
    asyncpg = pytest.importorskip("asyncpg")
    pgvector_asyncpg = pytest.importorskip("pgvector.asyncpg")
    import asyncio

    async def run():
        conn = await asyncpg.connect(**iriswire_server.connect_kwargs(dbname))
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            await conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
            # register_vector looks the type up in pg_type and codes it in binary.
            await pgvector_asyncpg.register_vector(conn)
            for i, v in VECTORS.items():
                await conn.execute("INSERT INTO items VALUES ($1, $2)", i, Vector(v))
            query = QUERIES[1]
            rows = await conn.fetch(
                "SELECT id, embedding, embedding <-> $1 AS d FROM items"
                " ORDER BY embedding <-> $1 LIMIT 3",
                Vector(query),
            )
            want = ranked("<->", query)[:3]
            assert [r["id"] for r in rows] == [i for i, _ in want]
            for r, (i, d) in zip(rows, want):
                assert close(r["d"], d)
                assert r["embedding"].to_list() == VECTORS[i]
        finally:
            await conn.close()

    asyncio.run(run())
