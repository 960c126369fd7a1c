//! tokio-postgres against the running binary: simple and extended
//! protocols, text and binary results, pipelining, errors, transactions.

mod common;

use common::{Server, connect};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

#[tokio::test]
async fn extended_protocol_binary_results_and_parameters() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE items (id bigint primary key, name text not null, price double precision, qty integer, ok boolean, created timestamp, data bytea)",
    )
    .await
    .unwrap();
    let n = c
        .execute(
            "INSERT INTO items (id, name, price, qty, ok) VALUES ($1, $2, $3, $4, $5)",
            &[&1i64, &"apple", &1.25f64, &3i32, &true],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    c.execute(
        "INSERT INTO items (id, name, price, qty, ok, created, data) VALUES (2, 'pear', 0.5, 10, false, '2024-01-02 03:04:05', x'DEAD')",
        &[],
    )
    .await
    .unwrap();

    let stmt = c
        .prepare("SELECT id, name, price, qty, ok, created, data FROM items WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(stmt.params(), &[Type::INT8]);
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            Type::INT8,
            Type::TEXT,
            Type::FLOAT8,
            Type::INT4,
            Type::BOOL,
            Type::TIMESTAMP,
            Type::BYTEA
        ]
    );
    let row = c.query_one(&stmt, &[&1i64]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, &str>(1), "apple");
    assert_eq!(row.get::<_, f64>(2), 1.25);
    assert_eq!(row.get::<_, i32>(3), 3);
    assert!(row.get::<_, bool>(4));
    let row = c.query_one(&stmt, &[&2i64]).await.unwrap();
    assert_eq!(row.get::<_, Vec<u8>>(6), vec![0xde, 0xad]);
    assert!(!row.get::<_, bool>(4));

    let updated = c
        .execute(
            "UPDATE items SET qty = qty + 1 WHERE price < $1",
            &[&2.0f64],
        )
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let deleted = c
        .execute("DELETE FROM items WHERE id = $1", &[&2i64])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
}

#[tokio::test]
async fn simple_protocol_text_results_and_tags() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    let msgs = c
        .simple_query("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, 'y;z'); SELECT a, b FROM t ORDER BY a; SELECT 1 AS one")
        .await
        .unwrap();
    let mut tags = vec![];
    let mut rows = vec![];
    for m in &msgs {
        match m {
            SimpleQueryMessage::CommandComplete(n) => tags.push(*n),
            SimpleQueryMessage::Row(r) if r.len() == 2 => rows.push(r.get(1).map(str::to_owned)),
            SimpleQueryMessage::Row(r) => rows.push(r.get(0).map(str::to_owned)),
            _ => {}
        }
    }
    assert_eq!(tags, vec![0, 2, 2, 1]);
    assert_eq!(
        rows,
        vec![Some("x".into()), Some("y;z".into()), Some("1".into())]
    );
}

#[tokio::test]
async fn repeated_simple_queries_keep_declared_column_types() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE flags (id int, ok boolean); INSERT INTO flags VALUES (1, true)")
        .await
        .unwrap();
    // The second run is served from the description cache; booleans stored
    // by SQLite as 1 must still be sent as PostgreSQL's `t`.
    for run in 0..3 {
        let msgs = c.simple_query("SELECT id, ok FROM flags").await.unwrap();
        let row = msgs
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r),
                _ => None,
            })
            .unwrap();
        assert_eq!(row.get(1), Some("t"), "run {run}");
    }
    // A DDL change is seen by the next run.
    c.batch_execute("DROP TABLE flags; CREATE TABLE flags (id int, ok text); INSERT INTO flags VALUES (1, 'yes')")
        .await
        .unwrap();
    let msgs = c.simple_query("SELECT id, ok FROM flags").await.unwrap();
    let row = msgs
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(row.get(1), Some("yes"));
}

#[tokio::test]
async fn session_functions_and_escape_strings() {
    let server = Server::start();
    let c = connect(&server, "shop").await;
    let row = c
        .query_one(
            "SELECT version(), current_database(), current_user, current_schema, E'a\\tb', now()::date = current_date",
            &[],
        )
        .await
        .unwrap();
    assert!(
        row.get::<_, &str>(0)
            .starts_with("PostgreSQL 16.6 (iriswire")
    );
    assert_eq!(row.get::<_, &str>(1), "shop");
    assert_eq!(row.get::<_, &str>(2), "tester");
    assert_eq!(row.get::<_, &str>(3), "public");
    assert_eq!(row.get::<_, &str>(4), "a\tb");
    assert!(row.get::<_, bool>(5));
    assert_eq!(row.columns()[2].name(), "current_user");
    let err = c.simple_query("SELECT E'\\0'").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "22025");
}

#[tokio::test]
async fn literals_are_typed_like_postgresql() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    let row = c
        .query_one("SELECT 1, 1.5::float8, true, 'text', 10000000000", &[])
        .await
        .unwrap();
    let types: Vec<Type> = row.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![Type::INT4, Type::FLOAT8, Type::BOOL, Type::TEXT, Type::INT8]
    );
    assert_eq!(row.get::<_, i32>(0), 1);
    assert_eq!(row.get::<_, f64>(1), 1.5);
    assert_eq!(row.get::<_, i64>(4), 10_000_000_000);
    assert_eq!(row.columns()[0].name(), "?column?");
}

#[tokio::test]
async fn pipelined_queries_all_answer_in_order() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE p (n int)").await.unwrap();
    let stmt = c.prepare("INSERT INTO p VALUES ($1)").await.unwrap();
    let values: Vec<i32> = (0..50).collect();
    let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 1]> =
        values.iter().map(|v| [v as _]).collect();
    let futures: Vec<_> = params.iter().map(|p| c.execute(&stmt, p)).collect();
    // tokio-postgres sends all of these before reading any answer.
    let results = futures::future::join_all(futures).await;
    for r in &results {
        assert_eq!(r.as_ref().map_err(|e| e.to_string()), Ok(&1));
    }
    let row = c
        .query_one("SELECT count(*), sum(n) FROM p", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 50);
}

#[tokio::test]
async fn errors_carry_the_right_sqlstate_and_sessions_recover() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE parent (id int primary key); CREATE TABLE child (id int primary key, pid int references parent(id), note text not null)",
    )
    .await
    .unwrap();
    c.batch_execute("INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 'n')")
        .await
        .unwrap();
    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM missing_table", "42P01"),
        ("SELECT missing_column FROM parent", "42703"),
        ("INSERT INTO parent VALUES (1)", "23505"),
        ("INSERT INTO child VALUES (2, 1, NULL)", "23502"),
        ("INSERT INTO child VALUES (3, 99, 'x')", "23503"),
        ("SELECT 1 / 0", "22012"),
        ("SELECT 'abc'::int", "22P02"),
    ];
    // The error cursor points at the offending token in the whole query string.
    let err = c.simple_query("SELECT 1; SELEC 2").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.message(), "syntax error at or near \"SELEC\"");
    assert_eq!(
        db.position(),
        Some(&tokio_postgres::error::ErrorPosition::Original(11))
    );
    let err = c.prepare("SELECT * FROM missing_table").await.unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "relation \"missing_table\" does not exist"
    );
    for (sql, code) in cases {
        let err = c.simple_query(sql).await.unwrap_err();
        let db = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db.code().code(), code, "{sql}: {}", db.message());
        // The session stays usable after every error.
        let one: i32 = c.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
    }
}

#[tokio::test]
async fn transactions_roll_back_and_report_aborted_state() {
    let server = Server::start();
    let mut c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE acct (id int primary key, bal int)")
        .await
        .unwrap();
    {
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO acct VALUES (1, 100)", &[])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM acct", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    c.batch_execute("BEGIN").await.unwrap();
    assert!(c.batch_execute("SELECT * FROM nope").await.is_err());
    let err = c.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "25P02");
    // COMMIT of a failed transaction rolls back, as PostgreSQL does.
    let msgs = c.simple_query("COMMIT").await.unwrap();
    assert!(matches!(
        msgs.last(),
        Some(SimpleQueryMessage::CommandComplete(_))
    ));
    let tx = c.transaction().await.unwrap();
    tx.execute("INSERT INTO acct VALUES (2, 5)", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM acct", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn portal_with_max_rows_suspends_and_resumes() {
    let server = Server::start();
    let mut c = connect(&server, "app").await;
    let tx = c.transaction().await.unwrap();
    let stmt = tx
        .prepare("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500) SELECT n::int8 FROM s")
        .await
        .unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = 0i64;
    loop {
        let rows = tx.query_portal(&portal, 700).await.unwrap();
        for r in &rows {
            seen += 1;
            assert_eq!(r.get::<_, i64>(0), seen);
        }
        if rows.len() < 700 {
            break;
        }
    }
    assert_eq!(seen, 2500);
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamptz_is_an_instant_printed_in_utc_with_its_offset() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE tz (id int, t timestamptz);
         INSERT INTO tz VALUES (1, '2026-12-01 07:13:24.123456+02'), (2, '2026-12-01 05:00:00')",
    )
    .await
    .unwrap();
    // Text format, as psql and node-postgres read it.
    let rows = c
        .simple_query("SELECT t FROM tz ORDER BY id")
        .await
        .unwrap();
    let texts: Vec<&str> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        ["2026-12-01 05:13:24.123456+00", "2026-12-01 05:00:00+00"]
    );
    // Binary format: the same instant.
    let t: std::time::SystemTime = c
        .query_one("SELECT t FROM tz WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(secs.as_micros(), 1_796_102_004_123_456);
}
