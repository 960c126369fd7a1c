//! A bridge worker killed mid-query: its client gets a clear error, other
//! sessions go on, and the pool replaces the worker.

mod common;

use std::time::{Duration, Instant};

use common::{Server, connect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_fails_only_its_statement_and_is_replaced() {
    let server = Server::start();
    let a = connect(&server, "app").await;
    let one: i32 = a.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let a_workers = server.workers();
    assert_eq!(a_workers.len(), 1, "one worker after the first session");
    let victim = a_workers[0];

    let b = connect(&server, "app").await;
    b.batch_execute("CREATE TABLE survivors (n int); INSERT INTO survivors VALUES (1)")
        .await
        .unwrap();

    let long = tokio::spawn(async move {
        let started = Instant::now();
        let r = a
            .query_one(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500000000) SELECT count(*) FROM s",
                &[],
            )
            .await;
        (a, r, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: kill(2) on a process we identified as the server's child.
    unsafe {
        libc::kill(victim as libc::pid_t, libc::SIGKILL);
    }
    let (a, result, took) = tokio::time::timeout(Duration::from_secs(10), long)
        .await
        .expect("the client must not hang")
        .unwrap();
    let err = result.expect_err("the statement on the killed worker must fail");
    let db = err
        .as_db_error()
        .expect("a PostgreSQL error, not a dropped connection");
    assert_eq!(db.code().code(), "08006", "{}", db.message());
    assert!(took < Duration::from_secs(10));

    // The other session never noticed.
    let n: i64 = b
        .query_one("SELECT count(*) FROM survivors", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // The failed session gets a fresh worker.
    let again: i32 = a.query_one("SELECT 2", &[]).await.unwrap().get(0);
    assert_eq!(again, 2);
    assert!(!server.workers().contains(&victim));
}
