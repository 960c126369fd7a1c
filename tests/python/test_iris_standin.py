"""The IRIS stand-in (tests/iris_standin/iris) refuses what IRIS refuses and
answers as IRIS answers: one test per rule of tests/iris_standin/iris/rules.py
and per semantic difference, through the `iris` API iris/iriswire_worker.py
uses, embedded (%SQL.Statement) and DB-API (iris.connect) alike.

Standard library and pytest only; no server, no worker process: the stand-in
is imported afresh per test with the environment the test names.
"""

import decimal
import importlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANDIN = os.path.join(ROOT, "tests", "iris_standin")


def load_standin(version=None, strict=None):
    """A fresh `iris` module (and in-memory database) for the given settings."""
    saved = {k: os.environ.get(k) for k in ("IRIS_STANDIN_VERSION", "IRIS_STANDIN_STRICT", "IRIS_STANDIN_DB")}
    for key, value in (("IRIS_STANDIN_VERSION", version), ("IRIS_STANDIN_STRICT", strict), ("IRIS_STANDIN_DB", None)):
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for name in [n for n in sys.modules if n == "iris" or n.startswith("iris.")]:
        del sys.modules[name]
    sys.path.insert(0, STANDIN)
    try:
        return importlib.import_module("iris")
    finally:
        sys.path.remove(STANDIN)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Refused(Exception):
    def __init__(self, sqlcode, message):
        super().__init__("SQLCODE %d: %s" % (sqlcode, message))
        self.sqlcode, self.message = sqlcode, message


class Embedded:
    """Statements through %SQL.Statement, as IrisEmbeddedDriver runs them."""

    def __init__(self, iris):
        self.iris = iris

    def run(self, sql, *params):
        iris = self.iris
        statement = iris.cls("%SQL.Statement")._New(1)
        status = statement._Prepare(sql)
        if iris.cls("%SYSTEM.Status").IsError(status):
            text = iris.cls("%SYSTEM.Status").GetErrorText(status)
            code = int(text.split("SQLCODE: ")[1].split()[0])
            raise Refused(code, text.split("Message: ", 1)[1])
        result = statement._Execute(*params)
        if result._SQLCODE < 0:
            raise Refused(result._SQLCODE, result._Message)
        count = statement._Metadata.columns.Count()
        if not count:
            return None
        rows = []
        while result._Next():
            rows.append(tuple(self._value(result._GetData(i)) for i in range(1, count + 1)))
        if result._SQLCODE < 0:
            raise Refused(result._SQLCODE, result._Message)
        return rows

    @staticmethod
    def _value(value):
        return None if value == "" else "" if value == "\x00" else value

    def names(self, sql):
        statement = self.iris.cls("%SQL.Statement")._New(1)
        assert statement._Prepare(sql) == 1
        columns = statement._Metadata.columns
        return [columns.GetAt(i).colName for i in range(1, columns.Count() + 1)]


class Native:
    """Statements through the DB-API, as IrisNativeDriver runs them."""

    def __init__(self, iris):
        self.iris = iris
        self.cursor = iris.connect(hostname="127.0.0.1", port=1972, namespace="USER",
                                   username="_SYSTEM", password="SYS").cursor()

    def run(self, sql, *params):
        try:
            self.cursor.execute(sql, params)
            return [tuple(row) for row in self.cursor.fetchmany(1000)] if self.cursor.description else None
        except self.iris.DatabaseError as exc:
            text = str(exc)
            code = int(text.split("<", 1)[1].split(">", 1)[0])
            message = text.split("[%msg: <", 1)[1]
            raise Refused(code, message[:-2] if message.endswith(">]") else message)

    def names(self, sql):
        self.cursor.execute(sql)
        return [d[0] for d in self.cursor.description]


@pytest.fixture(params=["embedded", "native"])
def db(request):
    iris = load_standin()
    return Embedded(iris) if request.param == "embedded" else Native(iris)


def at_version(version, flavour):
    iris = load_standin(version=version)
    return Embedded(iris) if flavour == "embedded" else Native(iris)


def refused(db, sql, sqlcode, *params):
    with pytest.raises(Refused) as info:
        db.run(sql, *params)
    assert info.value.sqlcode == sqlcode, info.value
    return info.value.message


def people(db):
    db.run("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20), flag BIT, score DOUBLE)")
    db.run("INSERT INTO people (id, name, flag, score) VALUES (1, 'ann', 1, 1.5)")
    db.run("INSERT INTO people (id, name, flag, score) VALUES (2, 'Ann', 0, NULL)")
    db.run("INSERT INTO people (id, name, flag, score) VALUES (3, 'bob', 1, 3)")


def test_the_first_line_says_it_is_a_stand_in():
    with open(os.path.join(STANDIN, "iris", "__init__.py")) as handle:
        assert "stand-in" in handle.readline().lower()


# --- refusals --------------------------------------------------------------------------

def test_trailing_semicolon_is_sqlcode_25(db):
    message = refused(db, "SELECT 1;", -25)
    assert message.startswith("Input (;) encountered after end of query")
    assert db.run("SELECT 1") == [(1,)]


def test_percent_is_no_modulo_operator(db):
    refused(db, "SELECT 7 % 2", -1)
    assert db.run("SELECT 7 # 2, MOD(7, 2)") == [(1, 1)]


@pytest.mark.parametrize("sql, sqlcode", [
    ("SELECT id = 1 FROM people", -25),
    ("SELECT (id = 1) FROM people", -1),
    ("SELECT name IS NULL FROM people", -25),
    ("SELECT NOT (id = 1) FROM people", -12),
    ("SELECT EXISTS (SELECT 1 FROM people)", -12),
    ("SELECT COALESCE(id > 1, 0) FROM people", -1),
])
def test_a_predicate_is_no_value(db, sql, sqlcode):
    people(db)
    refused(db, sql, sqlcode)
    assert db.run("SELECT CASE WHEN id = 1 THEN 1 ELSE 0 END FROM people ORDER BY id") == [(1,), (0,), (0,)]


@pytest.mark.parametrize("sql", [
    "SELECT id FROM people WHERE flag IS TRUE",
    "SELECT id FROM people WHERE flag IS NOT FALSE",
    "SELECT id FROM people WHERE name IS DISTINCT FROM 'x'",
])
def test_is_takes_only_null(db, sql):
    people(db)
    refused(db, sql, -1)
    assert db.run("SELECT id FROM people WHERE score IS NULL") == [(2,)]


@pytest.mark.parametrize("sql", [
    "SELECT id FROM people WHERE flag",
    "SELECT id FROM people WHERE NOT flag",
    "SELECT id FROM people WHERE id > 1 AND flag",
    "SELECT CASE WHEN flag THEN 1 END FROM people",
])
def test_a_bare_column_is_no_condition(db, sql):
    people(db)
    refused(db, sql, -14)
    assert db.run("SELECT id FROM people WHERE flag = 1 ORDER BY id") == [(1,), (3,)]


def test_nulls_first_and_last_are_refused(db):
    people(db)
    refused(db, "SELECT id FROM people ORDER BY score NULLS LAST", -25)
    refused(db, "SELECT id FROM people ORDER BY score DESC NULLS FIRST", -25)


def test_values_inserts_one_row(db):
    people(db)
    refused(db, "INSERT INTO people (id, name) VALUES (7, 'x'), (8, 'y')", -25)
    refused(db, "VALUES (1), (2)", -51)
    db.run("INSERT INTO people (id, name) SELECT id + 10, name FROM people WHERE id < 3")
    assert db.run("SELECT count(*) FROM people") == [(5,)]


def test_truncate_needs_table(db):
    people(db)
    refused(db, "TRUNCATE people", -1)
    db.run("TRUNCATE TABLE people")
    assert db.run("SELECT count(*) FROM people") == [(0,)]


def test_savepoint_statements(db):
    people(db)
    db.run("START TRANSACTION")
    db.run("SAVEPOINT sp")
    refused(db, "ROLLBACK TO sp", -1)
    refused(db, "RELEASE SAVEPOINT sp", -51)
    db.run("DELETE FROM people")
    db.run("ROLLBACK TO SAVEPOINT sp")
    refused(db, "ROLLBACK TO SAVEPOINT sp", -375)
    db.run("COMMIT")
    assert db.run("SELECT count(*) FROM people") == [(3,)]


def test_begin_is_no_iris_statement(db):
    refused(db, "BEGIN", -51)
    db.run("START TRANSACTION")
    db.run("COMMIT")


def test_limit_after_order_by_in_a_subquery(db):
    people(db)
    refused(db, "SELECT * FROM (SELECT id FROM people ORDER BY id LIMIT 1) x", -1)
    assert db.run("SELECT * FROM (SELECT TOP 1 id FROM people ORDER BY id DESC) x") == [(3,)]
    assert db.run("SELECT TOP ? id FROM people WHERE id > ? ORDER BY id", 1, 1) == [(2,)]


@pytest.mark.parametrize("word", ["date", "level", "count", "user", "time", "order", "value_ok"])
def test_reserved_words_need_quotes(db, word):
    if word == "value_ok":  # VALUE is no reserved word: the control
        db.run("CREATE TABLE t (value VARCHAR(10))")
        return
    message = refused(db, "CREATE TABLE t (%s VARCHAR(10))" % word, -1)
    assert "reserved word %s found" % word.upper() in message
    db.run('CREATE TABLE t ("%s" VARCHAR(10))' % word)
    db.run('INSERT INTO t ("%s") VALUES (\'x\')' % word)
    assert db.run('SELECT "%s" FROM t' % word) == [("x",)]
    if word not in ("user",):  # a bare USER is IRIS's USER function, not the column
        refused(db, "SELECT %s FROM t" % word, -1)
        refused(db, "INSERT INTO t (%s) VALUES ('y')" % word, -1)
    refused(db, "SELECT 1 AS %s" % word, -1)


def test_identity_refuses_explicit_values(db):
    db.run("CREATE TABLE items (id IDENTITY, name VARCHAR(10))")
    db.run("INSERT INTO items (name) VALUES ('a')")
    refused(db, "INSERT INTO items (id, name) VALUES (7, 'b')", -111)
    assert db.run("SELECT id, name FROM items") == [(1, "a")]
    db.run("CREATE TABLE loose (id BIGINT IDENTITY, name VARCHAR(10), %CLASSPARAMETER ALLOWIDENTITYINSERT = 1)")
    db.run("INSERT INTO loose (id, name) VALUES (7, 'b')")
    db.run("CREATE TABLE loose2 (id IDENTITY, name VARCHAR(10)) WITH %CLASSPARAMETER ALLOWIDENTITYINSERT = 1")
    db.run("INSERT INTO loose2 (id, name) VALUES (9, 'c')")
    assert db.run("SELECT id FROM loose") == [(7,)] and db.run("SELECT id FROM loose2") == [(9,)]


@pytest.mark.parametrize("pg_type", ["BOOLEAN", "BOOL", "BYTEA", "JSONB", "JSON", "UUID", "TIMESTAMPTZ",
                                     "INT4", "FLOAT8", "BIGSERIAL", "INTERVAL", "INTEGER[]"])
def test_postgresql_only_types_are_refused(db, pg_type):
    with pytest.raises(Refused):
        db.run("CREATE TABLE t (c %s)" % pg_type)


@pytest.mark.parametrize("iris_type", ["TEXT", "BIT", "VARCHAR(10)", "DOUBLE PRECISION", "UNIQUEIDENTIFIER",
                                       "NUMERIC(10,2)", "TIMESTAMP", "VARBINARY(16)", "SERIAL", "%Library.String(MAXLEN=5)"])
def test_iris_types_and_synonyms_are_accepted(db, iris_type):
    db.run("CREATE TABLE t (c %s)" % iris_type)


def test_varchar_length_is_maxlen(db):
    db.run("CREATE TABLE t (one VARCHAR, five VARCHAR(5))")
    db.run("INSERT INTO t (one, five) VALUES ('a', 'abcde')")
    refused(db, "INSERT INTO t (one) VALUES ('ab')", -104)
    refused(db, "INSERT INTO t (five) VALUES ('abcdef')", -104)


def test_for_update_is_refused(db):
    people(db)
    refused(db, "SELECT id FROM people WHERE id = 1 FOR UPDATE", -25)


def test_interval_literals_are_refused(db):
    refused(db, "SELECT CURRENT_TIMESTAMP + INTERVAL '1 day'", -1)


@pytest.mark.parametrize("sql, name", [
    ("SELECT version()", "SQLUSER.VERSION"),
    ("SELECT current_schema()", "SQLUSER.CURRENT_SCHEMA"),
    ("SELECT pg_catalog.version()", "PG_CATALOG.VERSION"),
    ("SELECT pg_backend_pid()", "SQLUSER.PG_BACKEND_PID"),
])
def test_postgresql_functions_are_sqlcode_359(db, sql, name):
    assert "'%s' does not exist" % name in refused(db, sql, -359)


def test_date_trunc_is_an_iris_function(db):
    # IRIS documents DATE_TRUNC(datePart, date) (RSQL_datetrunc): accepted, IRIS's date parts only.
    assert db.run("SELECT DATE_TRUNC('month', '2024-05-17 10:11:12')") == [("2024-05-01 00:00:00",)]
    refused(db, "SELECT DATE_TRUNC('decade', '2024-05-17')", -8)


@pytest.mark.parametrize("flavour", ["embedded", "native"])
@pytest.mark.parametrize("version, allowed", [("2024.1", False), ("2024.3", False), ("2025.1", True)])
def test_limit_and_offset_from_2025_1(flavour, version, allowed):
    db = at_version(version, flavour)
    people(db)
    if allowed:
        assert db.run("SELECT id FROM people ORDER BY id LIMIT 1 OFFSET 1") == [(2,)]
    else:
        refused(db, "SELECT id FROM people ORDER BY id LIMIT 1", -25)
        refused(db, "SELECT id FROM people ORDER BY id OFFSET 1", -25)
    assert db.run("SELECT TOP 1 id FROM people ORDER BY id") == [(1,)]


@pytest.mark.parametrize("flavour", ["embedded", "native"])
@pytest.mark.parametrize("version, allowed", [("2024.1", False), ("2024.3", False), ("2025.1", True)])
def test_hnsw_from_2025_1(flavour, version, allowed):
    db = at_version(version, flavour)
    db.run("CREATE TABLE v (e VECTOR(DOUBLE, 2))")
    sql = "CREATE INDEX ve ON v (e) AS HNSW(Distance='Cosine')"
    if allowed:
        db.run(sql)
    else:
        refused(db, sql, -400)
    refused(db, "CREATE INDEX ve2 ON v USING hnsw (e)", -25)


@pytest.mark.parametrize("flavour", ["embedded", "native"])
@pytest.mark.parametrize("version, allowed", [("2024.1", False), ("2024.3", True), ("2025.1", True)])
def test_float_vectors_from_2024_3(flavour, version, allowed):
    db = at_version(version, flavour)
    if allowed:
        db.run("CREATE TABLE v (e VECTOR(FLOAT, 2))")
        assert db.run("SELECT TO_VECTOR('1,2', FLOAT)") == [("1,2",)]
    else:
        refused(db, "CREATE TABLE v (e VECTOR(FLOAT, 2))", -1)
        refused(db, "SELECT TO_VECTOR('1,2', FLOAT)", -1)
    db.run("CREATE TABLE d (e VECTOR(DOUBLE, 2))")


def test_long_inline_vector_literals_fail(db):
    db.run("CREATE TABLE v (e VECTOR(DOUBLE, 200))")
    short = ",".join(["0.5"] * 129)
    assert db.run("SELECT VECTOR_DOT_PRODUCT(TO_VECTOR('%s', DOUBLE), TO_VECTOR('%s', DOUBLE))" % (short, short)) \
        == [(32.25,)]
    long = ",".join(["0.5"] * 200)
    refused(db, "INSERT INTO v (e) VALUES (TO_VECTOR('%s', DOUBLE))" % long, -400)
    db.run("INSERT INTO v (e) VALUES (TO_VECTOR(?, DOUBLE))", long)  # a parameter is fine
    assert db.run("SELECT count(*) FROM v") == [(1,)]


# --- semantics --------------------------------------------------------------------------

def test_strings_collate_sqlupper_unless_exact(db):
    db.run("CREATE TABLE s (name VARCHAR(10) UNIQUE, code VARCHAR(10) %EXACT, tag VARCHAR(10) COLLATE EXACT)")
    db.run("INSERT INTO s (name, code, tag) VALUES ('Ann', 'Ab', 'Xy')")
    assert db.run("SELECT name FROM s WHERE name = 'ANN'") == [("Ann",)]
    assert db.run("SELECT name FROM s WHERE name LIKE 'an%'") == [("Ann",)]
    assert db.run("SELECT code FROM s WHERE code = 'ab'") == []
    assert db.run("SELECT tag FROM s WHERE tag = 'XY'") == []
    refused(db, "INSERT INTO s (name) VALUES ('ANN')", -119)
    db.run("INSERT INTO s (name) VALUES ('bob')")
    db.run("INSERT INTO s (name) VALUES ('Carl')")
    assert db.run("SELECT name FROM s ORDER BY name") == [("Ann",), ("bob",), ("Carl",)]
    assert db.run("SELECT name FROM s WHERE %EXACT(name) = 'ann'") == []


def test_distinct_and_group_by_return_sqlupper_values(db):
    people(db)
    assert db.run("SELECT DISTINCT name FROM people ORDER BY name") == [("ANN",), ("BOB",)]
    assert db.run("SELECT name, count(*) FROM people GROUP BY name ORDER BY name") == [("ANN", 2), ("BOB", 1)]
    assert db.run("SELECT DISTINCT %EXACT(name) AS n FROM people ORDER BY n") == [("Ann",), ("ann",), ("bob",)]


def test_nulls_sort_first_ascending(db):
    people(db)
    assert db.run("SELECT id FROM people ORDER BY score, id") == [(2,), (1,), (3,)]
    assert db.run("SELECT id FROM people ORDER BY score DESC, id") == [(3,), (1,), (2,)]


def test_division_does_not_truncate(db):
    assert db.run("SELECT 7/2, 6/2, -7/2") == [(3.5, 3, -3.5)]
    assert "<DIVIDE>" in refused(db, "SELECT 1/0", -400)


def test_numbers_print_canonically(db):
    assert db.run("SELECT CAST(0.5 AS VARCHAR(10)), CAST(-0.50 AS VARCHAR(10)), 'x' || 12.30") == [
        (".5", "-.5", "x12.3")]


def test_stream_columns(db):
    db.run("CREATE TABLE doc (body TEXT)")
    db.run("INSERT INTO doc (body) VALUES ('hello stream')")
    [(value,)] = db.run("SELECT body FROM doc")
    if isinstance(db, Embedded):
        assert value != "hello stream" and "%Stream.GlobalCharacter" in value  # the OID
        stream = db.iris.cls("%Stream.Object")._Open(value)
        assert stream.Read(5) + stream.Read() == "hello stream" and stream.AtEnd
    else:
        assert value == "hello stream"  # the DB-API reads the stream for its caller


def test_vectors_come_back_as_comma_separated_text(db):
    db.run("CREATE TABLE v (e VECTOR(DOUBLE, 3))")
    db.run("INSERT INTO v (e) VALUES ('[1,2.50,3]')")
    db.run("INSERT INTO v (e) VALUES (TO_VECTOR('0.5,0,1', DOUBLE))")
    assert db.run("SELECT e FROM v") == [("1,2.5,3",), (".5,0,1",)]
    refused(db, "INSERT INTO v (e) VALUES ('1,2')", -104)
    refused(db, "SELECT VECTOR_COSINE(TO_VECTOR('1,2', DOUBLE), TO_VECTOR('1,2,3', DOUBLE))", -257)


def test_numeric_scale_rounds_and_drops_trailing_zeros(db):
    db.run("CREATE TABLE m (amount NUMERIC(10,2))")
    db.run("INSERT INTO m (amount) VALUES (3.105)")
    db.run("INSERT INTO m (amount) VALUES (3.10)")
    values = [row[0] for row in db.run("SELECT amount FROM m")]
    if isinstance(db, Native):
        assert values == [decimal.Decimal("3.11"), decimal.Decimal("3.1")]
    else:
        assert values == [3.11, 3.1]


def test_default_isolation_is_read_uncommitted(db):
    option = "SELECT %SYSTEM_SQL.Util_GetOption('IsolationMode')"
    assert db.run(option) == [(0,)]
    db.run("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    assert db.run(option) == [(1,)]
    refused(db, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", -1)


def test_tlevel_counts_savepoints(db):
    people(db)
    assert db.run("SELECT $TLEVEL") == [(0,)]
    db.run("START TRANSACTION")
    db.run("SAVEPOINT a")
    db.run("SAVEPOINT b")
    assert db.run("SELECT $TLEVEL") == [(3,)]
    if isinstance(db, Embedded):
        assert db.iris.tlevel() == 3
    db.run("ROLLBACK TO SAVEPOINT a")
    assert db.run("SELECT $TLEVEL") == [(1,)]
    db.run("ROLLBACK")
    assert db.run("SELECT $TLEVEL") == [(0,)]


@pytest.mark.parametrize("version", ["2024.1", "2024.3", "2025.1", None])
def test_version_reported_as_iris_does(version):
    iris = load_standin(version=version)
    expected = version or "2025.1"
    assert iris.cls("%SYSTEM.Version").GetNumber() == expected
    native = iris.createIRIS(iris.connect(namespace="USER"))
    assert native.classMethodValue("%SYSTEM.Version", "GetNumber") == expected
    [(zversion,)] = Embedded(iris).run("SELECT $ZVERSION")
    assert zversion.startswith("IRIS for UNIX (") and (" %s (Build " % expected) in zversion


def test_schema_case_and_column_spelling(db):
    people(db)
    assert db.run("SELECT ID FROM SQLUser.PEOPLE WHERE Id = 1") == [(1,)]
    assert db.names("SELECT NAME, p.SCORE, id AS Renamed FROM people p") == ["name", "score", "Renamed"]
    refused(db, "SELECT id FROM nowhere.people", -30)


def test_information_schema_columns_as_iris(db):
    db.run("CREATE TABLE m (id INTEGER NOT NULL, amount NUMERIC(10,2), name VARCHAR(20), note VARCHAR)")
    rows = db.run("SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
                  "IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) = "
                  "LOWER(?) ORDER BY ORDINAL_POSITION", "SQLUser", "M")
    assert rows == [("id", "integer", None, None, None, "NO"), ("amount", "numeric", None, 10, 2, "YES"),
                    ("name", "varchar", 20, None, None, "YES"), ("note", "varchar", 1, None, None, "YES")]


def test_lenient_mode_is_the_old_stand_in():
    iris = load_standin(strict="0")
    db = Embedded(iris)
    assert iris.cls("%SYSTEM.Version").GetNumber() == "0.0.0-standin"
    assert db.run("SELECT 1;") == [(1,)]
    assert db.run("SELECT 7/2") == [(3,)]
