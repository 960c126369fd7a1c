//! Constraint violations name their schema, table, column and constraint as
//! PostgreSQL's ErrorResponse does (ORMs map unique violations by
//! constraint name), with PostgreSQL's implicit constraint names.

mod common;

use common::{Server, connect};

async fn violation(c: &tokio_postgres::Client, sql: &str) -> tokio_postgres::error::DbError {
    c.batch_execute(sql)
        .await
        .expect_err(sql)
        .as_db_error()
        .expect("a database error")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constraint_violations_carry_postgresql_error_fields() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE kid (id int PRIMARY KEY, name text UNIQUE, a int, b int,
                           pid int REFERENCES parent(id), n int NOT NULL,
                           UNIQUE (a, b));
         CREATE UNIQUE INDEX kid_lower_name ON kid (n, a);
         INSERT INTO parent VALUES (1);
         INSERT INTO kid VALUES (1, 'x', 1, 1, 1, 1)",
    )
    .await
    .unwrap();

    let e = violation(&c, "INSERT INTO kid VALUES (1, 'y', 2, 2, 1, 2)").await;
    assert_eq!(e.code().code(), "23505");
    assert_eq!(e.constraint(), Some("kid_pkey"));
    assert_eq!((e.schema(), e.table()), (Some("public"), Some("kid")));
    assert_eq!(
        e.message(),
        "duplicate key value violates unique constraint \"kid_pkey\""
    );

    let e = violation(&c, "INSERT INTO kid VALUES (2, 'x', 2, 2, 1, 2)").await;
    assert_eq!(e.constraint(), Some("kid_name_key"));
    assert_eq!(e.column(), Some("name"));

    let e = violation(&c, "INSERT INTO kid VALUES (3, 'z', 1, 1, 1, 3)").await;
    assert_eq!(e.constraint(), Some("kid_a_b_key"));

    let e = violation(&c, "INSERT INTO kid VALUES (4, 'w', 1, 9, 1, 1)").await;
    assert_eq!(
        e.constraint(),
        Some("kid_lower_name"),
        "a named index keeps its name"
    );

    let e = violation(&c, "INSERT INTO kid VALUES (5, 'v', 5, 5, 1, NULL)").await;
    assert_eq!(e.code().code(), "23502");
    assert_eq!((e.table(), e.column()), (Some("kid"), Some("n")));

    let e = violation(&c, "INSERT INTO kid VALUES (6, 'u', 6, 6, 42, 6)").await;
    assert_eq!(e.code().code(), "23503");
    assert_eq!(e.constraint(), Some("kid_pid_fkey"));
    assert_eq!(e.table(), Some("kid"));
}
