-- Golden translations for IRIS: what each PostgreSQL statement becomes in
-- IRIS SQL. Run by tests/translate_golden.rs, which reports every failing
-- case by its line.
--
-- A case is two lines: `in:` the statement as a client sends it, then one of
--   out:    the exact SQL the backend receives (`…` at the start stands
--           for any text before the rest)
--   error:  the SQLSTATE, then words the error message contains
--   local:  the command tag iriswire answers with itself (the backend
--           never sees the statement)
-- optionally followed by
--   params: for each `?` in `out:`, the zero-based client parameter bound
-- Lines starting with `--` are comments; blank lines are ignored.

-- Parameters keep their order and may be used more than once.
in:     SELECT id FROM items WHERE id = $1 OR parent = $1 LIMIT $2
out:    SELECT id FROM items WHERE id = ? OR parent = ? LIMIT ?
params: 0 0 1
in:     SELECT * FROM t WHERE b = $2 AND a = $1
out:    SELECT * FROM t WHERE b = ? AND a = ?
params: 1 0

-- Casts and column types.
in:     SELECT x::double precision, CAST(y AS text), z::boolean, w::timestamptz, v::bytea FROM t
out:    SELECT CAST(x AS DOUBLE), CAST(y AS VARCHAR(65535)), CAST(z AS BIT), CAST(w AS TIMESTAMP), CAST(v AS VARBINARY(65535)) FROM t
in:     CREATE TABLE public.items (id bigserial PRIMARY KEY, title text, ok boolean, embedding vector(3))
out:    CREATE TABLE SQLUser.items (id IDENTITY PRIMARY KEY, title VARCHAR(65535), ok BIT, embedding VECTOR(FLOAT, 3))

-- LIMIT, booleans, ILIKE, concatenation and the `public` schema.
in:     SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20
out:    SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20
in:     SELECT * FROM t WHERE flag = true AND other = false
out:    SELECT * FROM t WHERE flag = 1 AND other = 0
in:     SELECT name || '!' FROM t WHERE name ILIKE $1
out:    SELECT name || '!' FROM t WHERE LOWER(name) LIKE LOWER(?)
in:     SELECT * FROM public.items
out:    SELECT * FROM SQLUser.items
in:     INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING
error:  0A000 ON CONFLICT
-- A single-row INSERT ... RETURNING passes; the worker emulates RETURNING.
in:     INSERT INTO t (id) VALUES (1) RETURNING id
out:    INSERT INTO t (id) VALUES (1) RETURNING id
in:     INSERT INTO t (id) VALUES (1), (2) RETURNING id
error:  0A000 RETURNING

-- pgvector's operators, functions and literals.
in:     SELECT a <-> b, a <=> b, a <#> b FROM t
out:    SELECT SQRT(ABS(VECTOR_DOT_PRODUCT(a, a) + VECTOR_DOT_PRODUCT(b, b) - 2 * VECTOR_DOT_PRODUCT(a, b))), (1 - VECTOR_COSINE(a, b)), (-VECTOR_DOT_PRODUCT(a, b)) FROM t
in:     SELECT cosine_distance(a, $1), inner_product(a, '[1,2]') FROM t
out:    SELECT (1 - VECTOR_COSINE(a, TO_VECTOR(?, FLOAT))), VECTOR_DOT_PRODUCT(a, TO_VECTOR('1,2', FLOAT)) FROM t
params: 0
-- The parameter of an L2 distance is used three times.
in:     SELECT l2_distance(a, $1) FROM t
out:    SELECT SQRT(ABS(VECTOR_DOT_PRODUCT(a, a) + VECTOR_DOT_PRODUCT(TO_VECTOR(?, FLOAT), TO_VECTOR(?, FLOAT)) - 2 * VECTOR_DOT_PRODUCT(a, TO_VECTOR(?, FLOAT)))) FROM t
params: 0 0 0
in:     SELECT '[1,2,3]'::vector
out:    SELECT TO_VECTOR('1,2,3', FLOAT)
in:     SELECT vector_dims(embedding) FROM items
error:  0A000 vector_dims

-- Top-k queries take the shape an HNSW index serves.
in:     SELECT id, embedding <=> $1 AS d FROM items ORDER BY embedding <=> $1 LIMIT 5
out:    SELECT TOP 5 id, (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT))) AS d FROM items ORDER BY VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT)) DESC
params: 0 0
in:     SELECT id FROM items ORDER BY embedding <#> '[1,0,0]' LIMIT 3
out:    SELECT TOP 3 id FROM items ORDER BY VECTOR_DOT_PRODUCT(embedding, TO_VECTOR('1,0,0', FLOAT)) DESC
-- A bound k: TOP takes constants, so LIMIT ? stays, similarity order kept.
in:     SELECT id FROM items ORDER BY embedding <#> $1 LIMIT $2
out:    SELECT id FROM items ORDER BY VECTOR_DOT_PRODUCT(embedding, TO_VECTOR(?, FLOAT)) DESC LIMIT ?
params: 0 1
-- L2 has no HNSW index on IRIS; OFFSET is kept as written.
in:     SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 5 OFFSET 5
out:    SELECT id FROM items ORDER BY (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, FLOAT))) LIMIT 5 OFFSET 5
in:     SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5
out:    … LIMIT 5

-- Vector DDL.
in:     CREATE EXTENSION IF NOT EXISTS vector
local:  CREATE EXTENSION
in:     CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
out:    CREATE INDEX items_embedding_idx ON items (embedding) AS HNSW(Distance='Cosine', M=16, efConstruction=64)
in:     CREATE INDEX items_ip ON public.items USING hnsw (embedding vector_ip_ops)
out:    CREATE INDEX items_ip ON SQLUser.items (embedding) AS HNSW(Distance='DotProduct')
in:     CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)
error:  0A000 L2
