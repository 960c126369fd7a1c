-- Golden translations for the embedded SQLite default: what each
-- PostgreSQL statement becomes in SQLite's SQL (with the functions the
-- bridge worker registers). Run by tests/translate_golden.rs, which
-- reports every failing case by its line.
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
--
-- Not here: E'' strings with control characters (a TAB would be invisible
-- on the line), pinned by a unit test in src/translate/mod.rs.

-- Column types: pgvector's checks run as a CHECK; serial is SQLite's rowid.
in:     CREATE TABLE public.items (id bigserial PRIMARY KEY, embedding vector(3))
out:    CREATE TABLE items (id INTEGER PRIMARY KEY, embedding vector(3) CHECK (embedding IS NULL OR TO_VECTOR(embedding, 'FLOAT', 3) IS NOT NULL))
in:     create table t (id serial primary key, v text)
out:    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)

-- ILIKE, the `public` schema, ON CONFLICT.
in:     SELECT name FROM t WHERE name NOT ILIKE 'a%'
out:    SELECT name FROM t WHERE LOWER(name) NOT LIKE LOWER('a%')
in:     SELECT * FROM public.items
out:    SELECT * FROM items
in:     INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING
out:    INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING
in:     INSERT INTO items (id, name) VALUES ($1, $2)
out:    INSERT INTO items (id, name) VALUES (?, ?)

-- Casts and division become functions that fail as PostgreSQL does.
in:     select a::int, b / c, '2024-01-01'::date from t where id = $1
out:    SELECT pg_int(a), pg_div(b, c), date('2024-01-01') FROM t WHERE id = ?

-- pgvector's operators, functions and literals.
in:     SELECT a <-> b, a <=> b, a <#> b FROM t
out:    SELECT iriswire_vector_l2(a, b), (1 - VECTOR_COSINE(a, b)), (-VECTOR_DOT_PRODUCT(a, b)) FROM t
in:     SELECT '[1,2,3]'::vector(3)
out:    SELECT TO_VECTOR('[1,2,3]', 'FLOAT')
in:     SELECT vector_dims(embedding) FROM items
out:    SELECT vector_dims(embedding) FROM items
in:     SELECT l1_distance(a, b) FROM t
error:  0A000 l1_distance
-- PostgreSQL's NULL placement for ascending distances.
in:     SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 5
out:    SELECT id FROM items ORDER BY (1 - VECTOR_COSINE(embedding, TO_VECTOR(?, 'FLOAT'))) NULLS LAST LIMIT 5

-- Vector DDL: indexes are accepted without one (the default scans).
in:     CREATE EXTENSION postgis
error:  0A000 postgis
in:     CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops)
error:  0A000 ivfflat
in:     CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)
local:  CREATE INDEX
