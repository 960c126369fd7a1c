//! The server-wide worker budget (`pool.max_total_workers`) and idle
//! shutdown (`pool.idle_timeout_ms`): however many databases clients name,
//! the server runs a bounded number of worker processes, and gives back
//! the ones nobody uses.

mod common;

use std::time::{Duration, Instant};

use common::{Server, connect, http_get};

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_default()
}

/// Polls until `done` holds or `within` passes; the last value seen.
async fn wait_for(server: &Server, within: Duration, done: impl Fn(usize) -> bool) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let n = server.workers().len();
        if done(n) || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_databases_never_run_more_workers_than_the_budget() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_POOL_MAX_TOTAL_WORKERS", "3"),
            ("IRISWIRE_POOL_IDLE_TIMEOUT_MS", "0"),
        ],
    );
    let mut most = 0;
    for i in 0..12 {
        let db = format!("db{i}");
        let c = connect(&server, &db).await;
        let v: i32 = c.query_one("SELECT 40 + 2", &[]).await.unwrap().get(0);
        assert_eq!(v, 42, "{db}");
        drop(c);
        most = most.max(server.workers().len());
    }
    // Each new database took the worker of an idle one.
    assert!(most <= 3, "{most} workers for a budget of 3");
    let (_, metrics) = http_get(server.http_port, "/metrics");
    let evicted = metrics
        .lines()
        .find(|l| l.starts_with("iriswire_worker_exits_total{reason=\"evicted\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(evicted >= 9.0, "evictions counted: {evicted}\n{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_of_busy_workers_answers_53300() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_POOL_MAX_TOTAL_WORKERS", "2"),
            ("IRISWIRE_BRIDGE_START_TIMEOUT_MS", "4000"),
        ],
    );
    // Session pooling: each connected client holds its worker.
    let a = connect(&server, "a").await;
    a.batch_execute("SELECT 1").await.unwrap();
    let b = connect(&server, "b").await;
    b.batch_execute("SELECT 1").await.unwrap();
    let c = connect(&server, "c").await;
    let started = Instant::now();
    let e = c
        .batch_execute("SELECT 1")
        .await
        .expect_err("no worker left");
    assert_eq!(code(&e), "53300", "{e}");
    let message = e.as_db_error().unwrap().message().to_owned();
    assert!(message.contains("pool.max_total_workers"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // A worker given back serves the waiting database.
    drop(a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.batch_execute("SELECT 1").await.unwrap();
    b.batch_execute("SELECT 1").await.unwrap();
    assert!(server.workers().len() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_are_shut_down_after_the_idle_timeout() {
    let server = Server::start_with(&[], &[("IRISWIRE_POOL_IDLE_TIMEOUT_MS", "300")]);
    for db in ["x", "y"] {
        let c = connect(&server, db).await;
        c.batch_execute("SELECT 1").await.unwrap();
    }
    let left = wait_for(&server, Duration::from_secs(5), |n| n == 0).await;
    assert_eq!(left, 0, "idle workers still running");
    // The next client starts a fresh one.
    let c = connect(&server, "x").await;
    let v: i32 = c.query_one("SELECT 7", &[]).await.unwrap().get(0);
    assert_eq!(v, 7);
    // A worker in use is never reaped, however long its client idles
    // between statements in its session.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(server.workers().len(), 1);
    let v: i32 = c.query_one("SELECT 8", &[]).await.unwrap().get(0);
    assert_eq!(v, 8);
}
