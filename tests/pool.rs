//! Pool semantics: transaction pooling shares few workers among many
//! clients with prepared statements intact; a bounded wait ends in 53300.

mod common;

use std::time::{Duration, Instant};

use common::{Server, connect};

fn worker_count(server: &Server) -> usize {
    server.workers().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_pooling_shares_workers_and_keeps_prepared_statements() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_POOL_MODE", "transaction"),
            ("IRISWIRE_POOL_MAX_SIZE", "2"),
        ],
    );
    let setup = connect(&server, "app").await;
    setup
        .batch_execute("CREATE TABLE counter (client int, n int)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for client_id in 0..6i32 {
        let c = connect(&server, "app").await;
        tasks.push(tokio::spawn(async move {
            let mut c = c;
            let insert = c
                .prepare("INSERT INTO counter VALUES ($1, $2)")
                .await
                .unwrap();
            let count = c
                .prepare("SELECT count(*) FROM counter WHERE client = $1")
                .await
                .unwrap();
            for n in 0..20i32 {
                // Each transaction may land on either worker; the
                // statements prepared above must keep working.
                let tx = c.transaction().await.unwrap();
                tx.execute(&insert, &[&client_id, &n]).await.unwrap();
                tx.commit().await.unwrap();
                let seen: i64 = c.query_one(&count, &[&client_id]).await.unwrap().get(0);
                assert_eq!(seen, n as i64 + 1);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total: i64 = setup
        .query_one("SELECT count(*) FROM counter", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, 120);
    assert!(
        worker_count(&server) <= 2,
        "7 clients share at most 2 workers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_worker_is_bounded_with_53300() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_POOL_MAX_SIZE", "1"),
            ("IRISWIRE_POOL_ACQUIRE_TIMEOUT_MS", "300"),
        ],
    );
    // Session pooling: the first client keeps the only worker.
    let holder = connect(&server, "app").await;
    holder.batch_execute("SELECT 1").await.unwrap();
    let waiter = connect(&server, "app").await;
    let started = Instant::now();
    let err = waiter.batch_execute("SELECT 1").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code().code(), "53300");
    assert!(db.message().contains("within"), "{}", db.message());
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Once the holder leaves, the waiter is served.
    drop(holder);
    tokio::time::sleep(Duration::from_millis(200)).await;
    waiter.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_size_workers_are_started_ahead() {
    let server = Server::start_with(&[], &[("IRISWIRE_POOL_MIN_SIZE", "3")]);
    let c = connect(&server, "app").await;
    c.batch_execute("SELECT 1").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while worker_count(&server) < 3 {
        assert!(Instant::now() < deadline, "min_size workers did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_recycled_after_their_use_count() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_POOL_MODE", "transaction"),
            ("IRISWIRE_POOL_MAX_SIZE", "1"),
            ("IRISWIRE_POOL_WORKER_MAX_USES", "3"),
        ],
    );
    let c = connect(&server, "app").await;
    let mut pids = Vec::new();
    for _ in 0..9 {
        // pg_backend_pid() is the pid of the worker that ran the statement.
        let pid: i32 = c
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if pids.last() != Some(&pid) {
            pids.push(pid);
        }
    }
    assert!(pids.len() >= 3, "workers used: {pids:?}");
}
