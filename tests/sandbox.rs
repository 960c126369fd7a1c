//! The embedded default's sandbox and session isolation: a client reaches
//! its own database only, and nothing it leaves on a pooled worker is seen
//! by the next client of that worker.

mod common;

use common::{Server, connect};

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_files_extensions_and_storage_pragmas_are_refused() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE t (a int)").await.unwrap();
    // Outside the data directory, and this run's own (no leftover from
    // another run can be mistaken for a write).
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("escaped.db");
    let outside = outside.to_str().unwrap();
    for sql in [
        format!("ATTACH '{outside}' AS x"),
        format!("VACUUM INTO '{outside}'"),
        "DETACH main".to_owned(),
        "PRAGMA writable_schema = 1".to_owned(),
        "PRAGMA synchronous = OFF".to_owned(),
        "PRAGMA foreign_keys = OFF".to_owned(),
        "SELECT load_extension('/tmp/nothing')".to_owned(),
        // Routed to the worker's in-memory catalog by the word in the
        // comment: sandboxed there too.
        format!("VACUUM INTO '{outside}' -- pg_class"),
        "PRAGMA writable_schema = 1 -- pg_type".to_owned(),
    ] {
        let e = c.batch_execute(&sql).await.expect_err(&sql);
        assert_eq!(code(&e), "42501", "{sql}: {e}");
        let msg = e.as_db_error().unwrap().message().to_owned();
        assert!(msg.starts_with("permission denied"), "{sql}: {msg}");
    }
    assert!(
        !std::path::Path::new(outside).exists(),
        "no file was written"
    );
    // Reading the schema is still allowed, and the session goes on.
    c.batch_execute("PRAGMA table_info('t')").await.unwrap();
    c.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_tables_do_not_outlive_their_session_on_a_pooled_worker() {
    // One worker: the second client certainly gets the first one's.
    let server = Server::start_with(&[], &[("IRISWIRE_POOL_MAX_SIZE", "1")]);
    {
        let c = connect(&server, "app").await;
        c.batch_execute(
            "CREATE TEMP TABLE secrets (s text); INSERT INTO secrets VALUES ('pin 1234')",
        )
        .await
        .unwrap();
        let n: i64 = c
            .query_one("SELECT count(*) FROM secrets", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }
    let workers = server.workers();
    let c = connect(&server, "app").await;
    let e = c
        .simple_query("SELECT * FROM secrets")
        .await
        .expect_err("the temporary table is gone");
    assert_eq!(code(&e), "42P01");
    assert_eq!(
        server.workers(),
        workers,
        "the same worker, reset, not a new one"
    );

    // DISCARD ALL (PgBouncer's reset query) drops them within a session too.
    // (Two Queries: in one, DISCARD ALL would run inside its implicit
    // transaction, which PostgreSQL refuses with 25001.)
    c.batch_execute("CREATE TEMP TABLE scratch (n int)")
        .await
        .unwrap();
    c.batch_execute("DISCARD ALL").await.unwrap();
    let e = c.simple_query("SELECT * FROM scratch").await.unwrap_err();
    assert_eq!(code(&e), "42P01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_database_names_create_files_only_when_allowed() {
    let server = Server::start_with(&[], &[("IRISWIRE_SQLITE_CREATE_DATABASES", "false")]);
    // An existing file serves; a new name is 3D000 and leaves nothing behind.
    std::fs::write(server.data_path().join("kept.db"), b"").unwrap();
    connect(&server, "kept")
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();
    let e = tokio_postgres::connect(&server.conninfo("made_up"), tokio_postgres::NoTls)
        .await
        .err()
        .expect("refused");
    assert_eq!(code(&e), "3D000");
    assert!(!server.data_path().join("made_up.db").exists());
    // The default on a loopback-only server: created on first use.
    let open = Server::start();
    connect(&open, "fresh")
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();
    assert!(open.data_path().join("fresh.db").exists());
}
