//! The IRIS path end to end: iriswire with the `iris-embedded` and
//! `iris-native` backends, its workers importing the stand-in `iris` module
//! from tests/iris_standin (which says it is a stand-in: IRIS cannot run
//! here). Checks what crosses Rust: IRIS metadata types, SQLCODE errors,
//! and namespaces as databases.

mod common;

use common::{Server, connect};
use tokio_postgres::types::Type;

fn iris_server(backend: &str) -> (Server, tempfile::TempDir) {
    common::iris_standin_server(backend, &[])
}

async fn exercise(server: &Server) {
    let c = connect(server, "user").await;
    c.batch_execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20), score DOUBLE)")
        .await
        .unwrap();
    let n = c
        .execute(
            "INSERT INTO people (id, name, score) VALUES ($1, $2, $3)",
            &[&1i32, &"ada", &9.5f64],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let row = c
        .query_one("SELECT id, name, score FROM people WHERE id = $1", &[&1i32])
        .await
        .unwrap();
    let types: Vec<Type> = row.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, vec![Type::INT4, Type::VARCHAR, Type::FLOAT8]);
    assert_eq!(row.get::<_, &str>(1), "ada");
    assert_eq!(row.get::<_, f64>(2), 9.5);

    let err = c.simple_query("SELECT * FROM missing").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "42P01");
    assert_eq!(db.message(), "relation \"missing\" does not exist");
    assert_eq!(
        db.detail(),
        Some("IRIS SQLCODE -30: Table 'SQLUSER.MISSING' not found")
    );
    let err = c
        .simple_query("INSERT INTO people (id, name) VALUES (1, 'dup')")
        .await
        .unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "23505");

    // A namespace that does not exist is refused at connection time.
    let err = tokio_postgres::connect(&server.conninfo("nosuchns"), tokio_postgres::NoTls)
        .await
        .err()
        .expect("connecting to a missing namespace must fail");
    let db = err.as_db_error().expect("a PostgreSQL error");
    assert_eq!(db.code().code(), "3D000");
    assert_eq!(db.message(), "database \"nosuchns\" does not exist");
}

#[tokio::test]
async fn iris_embedded_backend_through_the_stand_in() {
    let (server, _db) = iris_server("iris-embedded");
    exercise(&server).await;
}

#[tokio::test]
async fn iris_native_backend_through_the_stand_in() {
    let (server, _db) = iris_server("iris-native");
    exercise(&server).await;
}
