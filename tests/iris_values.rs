//! IRIS's values, errors and sessions end to end, as PostgreSQL 15 answers
//! them: iriswire with the `iris-embedded` and `iris-native` backends on the
//! strict IRIS stand-in (tests/iris_standin, IRIS_STANDIN_STRICT=1).

mod common;

use common::{Server, connect};

fn strict_server(backend: &str) -> (Server, tempfile::TempDir) {
    common::iris_standin_server(backend, &[("IRIS_STANDIN_STRICT", "1")])
}

async fn errors_in_postgresql_wording(server: &Server) {
    let c = connect(server, "user").await;
    let err = c.simple_query("SELECT * FROM Missing").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "42P01");
    assert_eq!(db.message(), "relation \"missing\" does not exist");

    c.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL)")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO t (id, name) VALUES (1, 'a')")
        .await
        .unwrap();
    let err = c.simple_query("SELECT nope FROM t").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(
        (db.code().code(), db.message()),
        ("42703", "column \"nope\" does not exist")
    );

    let err = c
        .simple_query("INSERT INTO t (id, name) VALUES (1, 'b')")
        .await
        .unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "23505");
    assert!(
        db.message()
            .starts_with("duplicate key value violates unique constraint"),
        "{db:?}"
    );
    assert_eq!(db.table(), Some("t"));
    assert!(db.constraint().is_some(), "{db:?}");

    let err = c
        .simple_query("INSERT INTO t (id, name) VALUES (2, NULL)")
        .await
        .unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "23502");
    assert_eq!(
        db.message(),
        "null value in column \"name\" of relation \"t\" violates not-null constraint"
    );
    assert_eq!((db.table(), db.column()), (Some("t"), Some("name")));

    let err = c
        .simple_query("INSERT INTO t (id, name) VALUES (3, 'abcdefgh')")
        .await
        .unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(
        (db.code().code(), db.message()),
        ("22001", "value too long for type character varying(5)")
    );
}

async fn session_functions(server: &Server) {
    let c = connect(server, "user").await;
    let row = c
        .query_one(
            "SELECT version(), current_database(), current_schema(), current_user",
            &[],
        )
        .await
        .unwrap();
    let version: String = row.get(0);
    assert!(version.starts_with("PostgreSQL "), "{version}");
    assert!(version.contains("InterSystems IRIS 2025.1"), "{version}");
    assert_eq!(row.get::<_, String>(2), "public");
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "version",
            "current_database",
            "current_schema",
            "current_user"
        ]
    );
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(pid > 0);
}

async fn transactions_and_names(server: &Server) {
    let c = connect(server, "user").await;
    c.batch_execute("CREATE TABLE person (Id INTEGER, Name VARCHAR(10))")
        .await
        .unwrap();
    c.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO person (Id, Name) VALUES (1, 'x')")
        .await
        .unwrap();
    c.batch_execute("ROLLBACK").await.unwrap();
    c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO person (Id, Name) VALUES (2, 'y')")
        .await
        .unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    let rows = c.query("SELECT Id, NAME FROM person", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    let names: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(rows[0].get::<_, i32>(0), 2);
}

async fn insert_returning(server: &Server) {
    let c = connect(server, "user").await;
    c.batch_execute("CREATE TABLE r (id IDENTITY, name VARCHAR(10))")
        .await
        .unwrap();
    let row = c
        .query_one(
            "INSERT INTO r (name) VALUES ($1) RETURNING id, name",
            &[&"a"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(1), "a");
    let messages = c
        .simple_query("INSERT INTO r (name) VALUES ('b') RETURNING name")
        .await
        .unwrap();
    let tags: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_owned()),
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(tags, ["b", "1"]);
    let rows = c
        .query(
            "UPDATE r SET name = $1 WHERE name = $2 RETURNING name",
            &[&"c", &"b"],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "c");
    let rows = c
        .query("DELETE FROM r WHERE name = $1 RETURNING name", &[&"a"])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "a");
}

async fn numeric_keeps_its_scale(server: &Server) {
    let c = connect(server, "user").await;
    c.batch_execute("CREATE TABLE money (id INTEGER, amount NUMERIC(10,2))")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO money (id, amount) VALUES (1, 3.1)")
        .await
        .unwrap();
    let messages = c.simple_query("SELECT amount FROM money").await.unwrap();
    let values: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(values, ["3.10"]);
}

#[tokio::test]
async fn iris_embedded_errors_sessions_and_names() {
    let (server, _db) = strict_server("iris-embedded");
    errors_in_postgresql_wording(&server).await;
    session_functions(&server).await;
    transactions_and_names(&server).await;
    insert_returning(&server).await;
    numeric_keeps_its_scale(&server).await;
}

#[tokio::test]
async fn iris_native_errors_sessions_and_names() {
    let (server, _db) = strict_server("iris-native");
    errors_in_postgresql_wording(&server).await;
    session_functions(&server).await;
    transactions_and_names(&server).await;
    insert_returning(&server).await;
    numeric_keeps_its_scale(&server).await;
}
