"""pgvector's SQL end to end through psycopg 3 and pgvector-python.

The embedded default answers the same translated SQL the IRIS path gets
(IRIS's vector functions, registered by the worker). Distances are checked
against plain-Python reference arithmetic; `register_vector` must find the
`vector` type in pg_type, as against PostgreSQL.
"""

import math
import random

import pytest

psycopg = pytest.importorskip("psycopg")
pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
from pgvector import Vector  # noqa: E402  (after the skip)

DIMS = 3


def connect(server, dbname):
    conn = psycopg.connect(server.conninfo(dbname), autocommit=True, connect_timeout=10)
    pgvector_psycopg.register_vector(conn)
    return conn


def vectors():
    rng = random.Random(20261123)
    # Small integers and halves: exact in float4, no ties in the distances below.
    return {i: [rng.randint(-8, 8) / 2 for _ in range(DIMS)] for i in range(1, 21)}


def l2(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return 1 - dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def neg_inner(a, b):
    return -sum(x * y for x, y in zip(a, b))


REFERENCE = {"<->": l2, "<=>": cosine, "<#>": neg_inner}


@pytest.fixture
def items(iriswire_server, dbname):
    conn = connect(iriswire_server, dbname)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3))")
    data = vectors()
    with conn.cursor() as cur:
        for i, v in data.items():
            # Sent as pgvector's binary form with the vector type's OID.
            cur.execute("INSERT INTO items (id, embedding) VALUES (%s, %s)", (i, Vector(v)))
    yield conn, data
    conn.close()


def expected(data, op, query, limit, offset=0):
    nonzero = {i: v for i, v in data.items() if op != "<=>" or any(v)}
    ranked = sorted(nonzero, key=lambda i: (REFERENCE[op](nonzero[i], query), i))
    return [(i, REFERENCE[op](nonzero[i], query)) for i in ranked[offset:offset + limit]]


@pytest.mark.parametrize("op", ["<->", "<=>", "<#>"])
def test_top_k_matches_reference(items, op):
    conn, data = items
    query = [1.5, -2.0, 3.0]
    q = Vector(query)
    where = "WHERE embedding <> '[0,0,0]'" if op == "<=>" else ""
    for limit, offset in ((5, 0), (4, 2)):
        rows = conn.execute(
            f"SELECT id, embedding {op} %s AS d FROM items {where} "
            f"ORDER BY embedding {op} %s LIMIT %s OFFSET %s",
            (q, q, limit, offset),
        ).fetchall()
        want = expected(data, op, query, limit, offset)
        assert [r[0] for r in rows] == [w[0] for w in want]
        for (_, got), (_, ref) in zip(rows, want):
            assert got == pytest.approx(ref, rel=1e-6, abs=1e-6)


def test_functions_and_values_round_trip(items):
    conn, data = items
    query = [1.0, 2.0, 3.0]
    row = conn.execute(
        "SELECT l2_distance(embedding, %s), cosine_distance(embedding, %s),"
        " inner_product(embedding, %s), vector_dims(embedding) FROM items WHERE id = 7",
        (Vector(query),) * 3,
    ).fetchone()
    v = data[7]
    assert row[0] == pytest.approx(l2(v, query), rel=1e-6)
    if any(v):
        assert row[1] == pytest.approx(cosine(v, query), rel=1e-6, abs=1e-6)
    assert row[2] == pytest.approx(-neg_inner(v, query), rel=1e-6, abs=1e-9)
    assert row[3] == 3
    # Text and binary results both come back as the stored vector.
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            got = cur.execute("SELECT embedding FROM items WHERE id = 7").fetchone()[0]
        assert list(got.to_list()) == pytest.approx(v)
    oid = conn.execute("SELECT oid FROM pg_type WHERE typname = 'vector'").fetchone()[0]
    assert oid == 16385


def test_hnsw_index_and_errors(items):
    conn, _ = items
    conn.execute(
        "CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)"
        " WITH (m = 16, ef_construction = 64)"
    )
    conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        conn.execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops)")
    with pytest.raises(psycopg.Error) as bad:
        conn.execute("SELECT '[1,2'::vector")
    assert bad.value.sqlstate == "22P02"
    with pytest.raises(psycopg.Error) as dims:
        conn.execute("INSERT INTO items (id, embedding) VALUES (99, %s)", (Vector([1.0, 2.0]),))
    assert dims.value.sqlstate == "22000"


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
            data = vectors()
            for i, v in data.items():
                await conn.execute("INSERT INTO items VALUES ($1, $2)", i, Vector(v))
            query = [0.5, 1.0, -1.5]
            rows = await conn.fetch(
                "SELECT id, embedding, embedding <-> $1 AS d FROM items"
                " ORDER BY embedding <-> $1 LIMIT 3",
                Vector(query),
            )
            want = expected(data, "<->", query, 3)
            assert [r["id"] for r in rows] == [w[0] for w in want]
            for r, (i, d) in zip(rows, want):
                assert r["d"] == pytest.approx(d, rel=1e-6)
                assert list(r["embedding"].to_list()) == pytest.approx(data[i])
        finally:
            await conn.close()

    asyncio.run(run())
