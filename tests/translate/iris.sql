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
out:    CREATE TABLE SQLUser.items (id IDENTITY PRIMARY KEY, title VARCHAR(65535) COLLATE %EXACT, ok BIT, embedding VECTOR(FLOAT, 3)) WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1

-- LIMIT, booleans, ILIKE, concatenation and the `public` schema.
in:     SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20
out:    SELECT * FROM t ORDER BY CASE WHEN id IS NULL THEN 1 ELSE 0 END, id LIMIT 10 OFFSET 20
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

-- No statement terminator on IRIS (SQLCODE -25).
in:     SELECT 1;
out:    SELECT 1
in:     SELECT a FROM t WHERE a = 1 ;  
out:    SELECT a FROM t WHERE a = 1

-- `%` is no IRIS operator; `/` of two integers truncates in PostgreSQL
-- (7/2 = 3, -7/2 = -3): the quotient of two known integers is cast to INTEGER.
in:     SELECT 7 % 2, a % b FROM t
out:    SELECT MOD(7, 2), MOD(a, b) FROM t
in:     SELECT 7 / 2, -7 / 2, 7.0 / 2, (1 + 6) / 2, 7::int / $1::int, 7 / 2.5, a / 2 FROM t
out:    SELECT CAST((7 / 2) AS INTEGER), CAST((-7 / 2) AS INTEGER), 7.0 / 2, CAST(((1 + 6) / 2) AS INTEGER), CAST((CAST(7 AS INT) / CAST(? AS INT)) AS INTEGER), 7 / 2.5, a / 2 FROM t
in:     SELECT 7 % 3 / 2
out:    SELECT CAST((MOD(7, 3) / 2) AS INTEGER)

-- Predicates where a value belongs: 1, 0 or NULL.
in:     SELECT a = b, x IS NULL AS n, NOT ok, EXISTS (SELECT 1 FROM u) FROM t
out:    SELECT CASE WHEN a = b THEN 1 WHEN NOT (a = b) THEN 0 END, CASE WHEN x IS NULL THEN 1 WHEN NOT (x IS NULL) THEN 0 END AS n, CASE WHEN NOT ok = 1 THEN 1 WHEN NOT (NOT ok = 1) THEN 0 END, CASE WHEN EXISTS (SELECT 1 FROM u) THEN 1 WHEN NOT (EXISTS (SELECT 1 FROM u)) THEN 0 END FROM t
in:     SELECT coalesce(a > b, false) FROM t
out:    SELECT coalesce(CASE WHEN a > b THEN 1 WHEN NOT (a > b) THEN 0 END, 0) FROM t
in:     UPDATE t SET done = (n > 3) WHERE id = $1
out:    UPDATE t SET done = CASE WHEN (n > 3) THEN 1 WHEN NOT (n > 3) THEN 0 END WHERE id = ?
-- IS takes only NULL on IRIS.
in:     SELECT * FROM t WHERE flag IS TRUE AND other IS NOT FALSE
out:    SELECT * FROM t WHERE COALESCE(flag, 0) = 1 AND COALESCE(other, 1) <> 0
in:     SELECT * FROM t WHERE (a > 1) IS NOT TRUE
out:    SELECT * FROM t WHERE COALESCE(CASE WHEN (a > 1) THEN 1 WHEN NOT (a > 1) THEN 0 END, 0) <> 1
in:     SELECT * FROM t WHERE a IS DISTINCT FROM $1
out:    SELECT * FROM t WHERE NOT (a = ? AND a IS NOT NULL AND ? IS NOT NULL OR a IS NULL AND ? IS NULL)
params: 0 0 0
in:     SELECT a IS NOT DISTINCT FROM b FROM t
out:    SELECT CASE WHEN (a = b AND a IS NOT NULL AND b IS NOT NULL OR a IS NULL AND b IS NULL) THEN 1 WHEN NOT ((a = b AND a IS NOT NULL AND b IS NOT NULL OR a IS NULL AND b IS NULL)) THEN 0 END FROM t
-- A bare column or literal where a condition belongs.
in:     SELECT count(*) FROM players WHERE active
out:    SELECT count(*) FROM players WHERE active = 1
in:     SELECT * FROM t WHERE NOT active OR t.ok AND true
out:    SELECT * FROM t WHERE NOT active = 1 OR t.ok = 1 AND 1 = 1
in:     DELETE FROM t WHERE gone
out:    DELETE FROM t WHERE gone = 1
in:     SELECT CASE WHEN ok THEN 'y' ELSE 'n' END FROM t
out:    SELECT CASE WHEN ok = 1 THEN 'y' ELSE 'n' END FROM t

-- NULL order: PostgreSQL puts NULLs last ascending and first descending,
-- IRIS first ascending and last descending; IRIS has no NULLS FIRST/LAST.
in:     SELECT a FROM t ORDER BY a
out:    SELECT a FROM t ORDER BY CASE WHEN a IS NULL THEN 1 ELSE 0 END, a
in:     SELECT a FROM t ORDER BY a DESC, b ASC NULLS FIRST, c DESC NULLS LAST
out:    SELECT a FROM t ORDER BY CASE WHEN a IS NULL THEN 0 ELSE 1 END, a DESC, b ASC, c DESC
in:     SELECT a + 1 AS x, b FROM t ORDER BY x NULLS FIRST, 2 DESC NULLS LAST, 1
out:    SELECT a + 1 AS x, b FROM t ORDER BY x, 2 DESC, CASE WHEN a + 1 IS NULL THEN 1 ELSE 0 END, 1
-- The keys of a UNION name result columns: left as they are.
in:     SELECT a FROM t UNION SELECT b FROM u ORDER BY 1
out:    SELECT a FROM t UNION SELECT b FROM u ORDER BY 1

-- Multi-row VALUES: IRIS inserts one row per VALUES, several by INSERT ... SELECT.
in:     INSERT INTO t (id, name) VALUES (1, 'x'), ($1, $2), (3, NULL)
out:    INSERT INTO t (id, name) SELECT 1, 'x' UNION ALL SELECT ?, ? UNION ALL SELECT 3, NULL
params: 0 1
in:     INSERT INTO t VALUES ($2, true)
out:    INSERT INTO t VALUES (?, 1)
params: 1

-- Transaction statements IRIS spells otherwise, or lacks.
in:     TRUNCATE t
out:    TRUNCATE TABLE t
in:     TRUNCATE TABLE public.t
out:    TRUNCATE TABLE SQLUser.t
in:     ROLLBACK TO x
out:    ROLLBACK TO SAVEPOINT x
in:     ROLLBACK TO SAVEPOINT x
out:    ROLLBACK TO SAVEPOINT x
in:     SAVEPOINT x
out:    SAVEPOINT x
-- IRIS has no RELEASE; its savepoints end at COMMIT, ROLLBACK or ROLLBACK TO.
in:     RELEASE SAVEPOINT x
local:  RELEASE
in:     RELEASE x
local:  RELEASE

-- Names IRIS reserves are delimited wherever they name something.
in:     CREATE TABLE events (id integer, date date, level int, count int, "user" text)
out:    CREATE TABLE events (id INTEGER, "date" DATE, "level" INT, "count" INT, "user" VARCHAR(65535) COLLATE %EXACT)
in:     SELECT date, e.level, count(*) AS count FROM events AS e WHERE level > $1 GROUP BY date, e.level ORDER BY date
out:    SELECT "date", e."level", count(*) AS "count" FROM events AS e WHERE "level" > ? GROUP BY "date", e."level" ORDER BY CASE WHEN "date" IS NULL THEN 1 ELSE 0 END, "date"
in:     INSERT INTO events (date, level) VALUES ($1, 2)
out:    INSERT INTO events ("date", "level") VALUES (?, 2)
in:     UPDATE events SET level = level + 1
out:    UPDATE events SET "level" = "level" + 1
in:     SELECT current_user, user
out:    … user
in:     ALTER TABLE events ADD COLUMN section text
out:    ALTER TABLE events ADD COLUMN "section" VARCHAR(65535) COLLATE %EXACT

-- String columns compare case-sensitively, as in PostgreSQL (IRIS's
-- default collation, SQLUPPER, ignores case); an identity column takes
-- explicit ids as a serial column does.
in:     CREATE TABLE p (id serial PRIMARY KEY, name varchar(20) NOT NULL UNIQUE, code char(3), tag citext, n numeric(10, 2))
out:    CREATE TABLE p (id IDENTITY PRIMARY KEY, name VARCHAR(20) COLLATE %EXACT NOT NULL UNIQUE, code CHAR(3) COLLATE %EXACT, tag VARCHAR(65535), n NUMERIC(10,2)) WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1
in:     CREATE TABLE g (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v int)
out:    CREATE TABLE g (id IDENTITY PRIMARY KEY, v INT) WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1
in:     CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED)
error:  0A000 generated column "b"
in:     ALTER TABLE t ADD COLUMN ok boolean
out:    ALTER TABLE t ADD COLUMN ok BIT
in:     ALTER TABLE t ADD COLUMN id bigserial
out:    ALTER TABLE t ADD COLUMN id IDENTITY

-- What IRIS cannot express is refused, naming it.
in:     SELECT * FROM t WHERE id = 1 FOR UPDATE
error:  0A000 FOR UPDATE
in:     SELECT now() + interval '1 day'
error:  0A000 INTERVAL
-- DATE_TRUNC is IRIS SQL, with IRIS's date parts only.
in:     SELECT date_trunc('month', ts) FROM t
out:    SELECT date_trunc('month', ts) FROM t
in:     SELECT date_trunc('decade', ts) FROM t
error:  0A000 decade
