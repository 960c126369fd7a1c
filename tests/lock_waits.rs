//! Lock waits on the embedded default behave as PostgreSQL's: a writer
//! blocked by another session's open transaction waits for it (longer than
//! SQLite's own busy timeout would allow), gives up at `lock_timeout` with
//! 55P03, and can be cancelled or timed out by `statement_timeout` while it
//! waits.

mod common;

use std::time::{Duration, Instant};

use common::{Server, connect};

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_default()
}

fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

/// A server, a table, and a first client holding its write lock in an
/// open transaction.
async fn blocked() -> (Server, tokio_postgres::Client, tokio_postgres::Client) {
    let server = Server::start();
    let holder = connect(&server, "app").await;
    holder
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    holder
        .batch_execute("BEGIN; INSERT INTO t VALUES (1, 'holder')")
        .await
        .unwrap();
    let waiter = connect(&server, "app").await;
    (server, holder, waiter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_writer_gives_up_at_lock_timeout_with_55p03() {
    let (_server, holder, waiter) = blocked().await;
    waiter
        .batch_execute("SET lock_timeout = '300ms'")
        .await
        .unwrap();
    let started = Instant::now();
    let e = waiter
        .batch_execute("INSERT INTO t VALUES (2, 'waiter')")
        .await
        .expect_err("the lock is held");
    let waited = started.elapsed();
    assert_eq!(code(&e), "55P03", "{e}");
    assert_eq!(message(&e), "canceling statement due to lock timeout");
    assert!(
        waited >= Duration::from_millis(250),
        "gave up early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "gave up late: {waited:?}");
    // Both sessions go on: the holder commits, the waiter then writes.
    holder.batch_execute("COMMIT").await.unwrap();
    waiter
        .batch_execute("INSERT INTO t VALUES (2, 'waiter')")
        .await
        .unwrap();
    let n: i64 = waiter
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_timeouts_a_writer_waits_for_the_holder_to_commit() {
    let (_server, holder, waiter) = blocked().await;
    // Longer than SQLite's own 5 s busy timeout, which used to end the
    // wait with 55P03.
    let hold = Duration::from_millis(5_600);
    let release = tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        holder.batch_execute("COMMIT").await.unwrap();
        holder
    });
    let started = Instant::now();
    waiter
        .batch_execute("INSERT INTO t VALUES (2, 'waiter')")
        .await
        .expect("the writer waits, then writes");
    assert!(started.elapsed() >= hold - Duration::from_millis(200));
    let _holder = release.await.unwrap();
    let ids: Vec<i32> = waiter
        .query("SELECT id FROM t ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_wait_can_be_cancelled() {
    let (_server, holder, waiter) = blocked().await;
    let token = waiter.cancel_token();
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
        Instant::now()
    });
    let e = waiter
        .batch_execute("INSERT INTO t VALUES (2, 'waiter')")
        .await
        .expect_err("cancelled while waiting");
    let answered = Instant::now();
    let cancelled = cancel.await.unwrap();
    assert_eq!(code(&e), "57014", "{e}");
    assert!(
        answered.duration_since(cancelled) < Duration::from_secs(1),
        "the cancel took {:?}",
        answered.duration_since(cancelled)
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    waiter
        .batch_execute("INSERT INTO t VALUES (3, 'after')")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_bounds_a_lock_wait() {
    let (_server, _holder, waiter) = blocked().await;
    waiter
        .batch_execute("SET statement_timeout = '400ms'")
        .await
        .unwrap();
    let started = Instant::now();
    let e = waiter
        .batch_execute("UPDATE t SET v = 'waiter'")
        .await
        .expect_err("timed out while waiting");
    assert_eq!(code(&e), "57014", "{e}");
    assert_eq!(message(&e), "canceling statement due to statement timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_a_stale_snapshot_is_a_serialization_failure() {
    let server = Server::start();
    let other = connect(&server, "app").await;
    other
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let reader = connect(&server, "app").await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM t")
        .await
        .unwrap();
    other
        .batch_execute("INSERT INTO t VALUES (1, 'committed')")
        .await
        .unwrap();
    // The reader's snapshot predates that commit: SQLite cannot let it
    // write, and retrying the statement could not help. The transaction
    // must restart, which is what 40001 tells ORMs.
    let started = Instant::now();
    let e = reader
        .batch_execute("INSERT INTO t VALUES (2, 'stale')")
        .await
        .expect_err("stale snapshot");
    assert_eq!(code(&e), "40001", "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at once"
    );
    reader.batch_execute("ROLLBACK").await.unwrap();
    reader
        .batch_execute("INSERT INTO t VALUES (2, 'retried')")
        .await
        .unwrap();
}
