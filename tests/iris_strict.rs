//! PostgreSQL's answers through the IRIS translation, end to end on the
//! strict IRIS stand-in (it refuses what IRIS refuses and answers as IRIS
//! answers: NULLs first ascending, `7/2` = 3.5, case-insensitive strings).
//! Every expected value is what PostgreSQL 15 returns for the same session.

mod common;

use common::{Server, connect};
use tokio_postgres::SimpleQueryMessage;

fn strict_server(backend: &str) -> (Server, tempfile::TempDir) {
    common::iris_standin_server(backend, &[("IRIS_STANDIN_STRICT", "1")])
}

/// The first column of every row, as text (`None` for NULL).
async fn column(c: &tokio_postgres::Client, sql: &str) -> Vec<Option<String>> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
            _ => None,
        })
        .collect()
}

fn texts(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|s| s.map(str::to_owned)).collect()
}

async fn postgres_answers(server: &Server) {
    let c = connect(server, "user").await;

    // Integer division truncates; `%` is MOD.
    assert_eq!(column(&c, "SELECT 7 / 2").await, texts(&[Some("3")]));
    assert_eq!(column(&c, "SELECT -7 / 2").await, texts(&[Some("-3")]));
    assert_eq!(column(&c, "SELECT 7 % 3").await, texts(&[Some("1")]));

    // A multi-row INSERT is one statement with PostgreSQL's count.
    c.batch_execute("CREATE TABLE n (v integer)").await.unwrap();
    let inserted = c
        .execute("INSERT INTO n (v) VALUES (2), ($1), (1)", &[&None::<i32>])
        .await
        .unwrap();
    assert_eq!(inserted, 3);

    // NULLs last ascending, first descending.
    assert_eq!(
        column(&c, "SELECT v FROM n ORDER BY v").await,
        texts(&[Some("1"), Some("2"), None])
    );
    assert_eq!(
        column(&c, "SELECT v FROM n ORDER BY v DESC").await,
        texts(&[None, Some("2"), Some("1")])
    );
    assert_eq!(
        column(&c, "SELECT v FROM n ORDER BY v NULLS FIRST").await,
        texts(&[None, Some("1"), Some("2")])
    );

    // Pagination.
    assert_eq!(
        column(&c, "SELECT v FROM n ORDER BY v LIMIT 1 OFFSET 1").await,
        texts(&[Some("2")])
    );

    // A predicate in the select list: true, false, or NULL.
    assert_eq!(
        column(&c, "SELECT v > 1 FROM n ORDER BY v").await,
        texts(&[Some("f"), Some("t"), None])
    );

    // Savepoints: RELEASE keeps the work, ROLLBACK TO undoes it.
    c.batch_execute("TRUNCATE n").await.unwrap();
    assert_eq!(
        column(&c, "SELECT count(*) FROM n").await,
        texts(&[Some("0")])
    );
    c.batch_execute(
        "BEGIN; INSERT INTO n VALUES (1); SAVEPOINT a; INSERT INTO n VALUES (2); \
         RELEASE SAVEPOINT a; SAVEPOINT b; INSERT INTO n VALUES (3); ROLLBACK TO b; COMMIT",
    )
    .await
    .unwrap();
    assert_eq!(
        column(&c, "SELECT v FROM n ORDER BY v").await,
        texts(&[Some("1"), Some("2")])
    );
    // The NULL-order key over a DISTINCT query's own column.
    assert_eq!(
        column(&c, "SELECT DISTINCT v FROM n ORDER BY v DESC").await,
        texts(&[Some("2"), Some("1")])
    );

    // Explicit ids into a serial column; strings compare case-sensitively.
    c.batch_execute("CREATE TABLE s (id serial PRIMARY KEY, name text)")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO s (id, name) VALUES (10, 'Ann'), (11, 'ann'), (12, 'ann')")
        .await
        .unwrap();
    assert_eq!(
        column(&c, "SELECT id FROM s WHERE name = 'ann' ORDER BY id").await,
        texts(&[Some("11"), Some("12")])
    );
    let mut distinct = column(&c, "SELECT DISTINCT name FROM s").await;
    distinct.sort();
    assert_eq!(distinct, texts(&[Some("Ann"), Some("ann")]));
}

#[tokio::test]
async fn postgres_answers_on_strict_iris_embedded() {
    let (server, _db) = strict_server("iris-embedded");
    postgres_answers(&server).await;
}

#[tokio::test]
async fn postgres_answers_on_strict_iris_native() {
    let (server, _db) = strict_server("iris-native");
    postgres_answers(&server).await;
}
