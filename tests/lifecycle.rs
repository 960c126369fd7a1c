//! Session lifecycle against the real binary: connection limits, idle and
//! statement timeouts, CancelRequest, graceful drain on SIGTERM, reload on
//! SIGHUP and recovery from a backend outage.

mod common;

use std::time::{Duration, Instant};

use common::{LONG_QUERY, Server, connect, connect_watched, http_get};

/// The server's message, with the client library's wrapping removed.
fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_else(|| e.to_string())
}

/// Waits until `n` connections run a statement, as /health reports them.
fn wait_active(server: &Server, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, body) = http_get(server.http_port, "/health");
        let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
        if summary["connections_by_state"]["active"] == n {
            return;
        }
        assert!(Instant::now() < deadline, "no statement started: {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a database error: {e}"))
}

async fn try_connect(
    server: &Server,
    user: &str,
    db: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={user} dbname={db}",
            server.port
        ),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limits_refuse_with_53300() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_SERVER_MAX_CLIENT_CONNECTIONS", "3"),
            ("IRISWIRE_SERVER_MAX_CONNECTIONS_PER_USER", "2"),
            ("IRISWIRE_SERVER_ADMIN_USERS", "ops"),
        ],
    );
    let a = try_connect(&server, "alice", "app").await.unwrap();
    let _b = try_connect(&server, "alice", "app").await.unwrap();
    let e = try_connect(&server, "alice", "app").await.err().unwrap();
    assert_eq!(code(&e), "53300");
    assert!(
        message(&e).contains("too many connections for role \"alice\""),
        "{e}"
    );
    let _c = try_connect(&server, "bob", "app").await.unwrap();
    let e = try_connect(&server, "carol", "app").await.err().unwrap();
    assert_eq!(code(&e), "53300");
    assert!(message(&e).contains("too many clients already"), "{e}");
    // The admin console stays reachable at the limit.
    let admin = try_connect(&server, "ops", "iriswire").await.unwrap();
    admin.simple_query("SHOW VERSION").await.unwrap();
    // A slot freed is a slot usable.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused = 2;
    loop {
        match try_connect(&server, "carol", "app").await {
            Ok(c) => {
                c.simple_query("SELECT 1").await.unwrap();
                break;
            }
            Err(e) if Instant::now() < deadline => {
                // The server may not have seen the close yet.
                refused += 1;
                assert_eq!(code(&e), "53300");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("slot never freed: {e}"),
        }
    }
    let (_, metrics) = http_get(server.http_port, "/metrics");
    assert!(
        metrics.contains(&format!(
            "iriswire_client_connections_rejected_total{{reason=\"limit\"}} {refused}"
        )),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_from_set_and_from_config() {
    let server = Server::start_with(&[], &[("IRISWIRE_SERVER_STATEMENT_TIMEOUT_MS", "300")]);
    let c = connect(&server, "app").await;
    let rows = c.simple_query("SHOW statement_timeout").await.unwrap();
    let shown = match &rows[1] {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).unwrap().to_owned(),
        _ => panic!("no row"),
    };
    assert_eq!(shown, "300ms");
    // From the configuration.
    let started = Instant::now();
    let e = c.simple_query(LONG_QUERY).await.unwrap_err();
    assert_eq!(code(&e), "57014");
    assert!(message(&e).contains("statement timeout"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The session stays usable.
    c.simple_query("SELECT 1").await.unwrap();
    // SET changes it for this session; extended protocol too.
    c.batch_execute("SET statement_timeout = '150ms'")
        .await
        .unwrap();
    let e = c.query(LONG_QUERY, &[]).await.unwrap_err();
    assert_eq!(code(&e), "57014");
    // SET LOCAL lasts until the end of the transaction.
    c.batch_execute("BEGIN; SET LOCAL statement_timeout = 0")
        .await
        .unwrap();
    c.batch_execute("COMMIT").await.unwrap();
    let rows = c.query_one("SHOW statement_timeout", &[]).await.unwrap();
    assert_eq!(rows.get::<_, &str>(0), "150ms");
    // RESET returns to the configured default; bad values are refused.
    c.batch_execute("RESET statement_timeout").await.unwrap();
    let rows = c.query_one("SHOW statement_timeout", &[]).await.unwrap();
    assert_eq!(rows.get::<_, &str>(0), "300ms");
    let e = c
        .batch_execute("SET statement_timeout = 'soon'")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22023");
    // A timeout inside a transaction aborts it, as in PostgreSQL.
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        code(&c.simple_query(LONG_QUERY).await.unwrap_err()),
        "57014"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        c.query_one("SELECT 7", &[]).await.unwrap().get::<_, i32>(0),
        7
    );
    let (_, metrics) = http_get(server.http_port, "/metrics");
    assert!(
        metrics.contains("iriswire_statement_timeouts_total 3"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_running_statement_within_a_second() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    let other = connect(&server, "app").await;
    let token = c.cancel_token();
    let run = tokio::spawn(async move {
        let started = Instant::now();
        let r = c.simple_query(LONG_QUERY).await;
        (r.map(|_| ()), started.elapsed(), c)
    });
    wait_active(&server, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled_at = Instant::now();
    token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    let (r, _, c) = run.await.unwrap();
    let took = cancelled_at.elapsed();
    let e = r.unwrap_err();
    assert_eq!(code(&e), "57014");
    assert!(message(&e).contains("user request"), "{e}");
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    // Both sessions go on.
    assert_eq!(
        c.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0),
        1
    );
    other.simple_query("SELECT 1").await.unwrap();

    // While rows stream (extended protocol, a portal read row by row).
    let token = c.cancel_token();
    let stream = c
        .query_raw(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT x FROM c",
            std::iter::empty::<i32>(),
        )
        .await
        .unwrap();
    futures::pin_mut!(stream);
    use futures::StreamExt;
    let mut rows = 0u64;
    let mut cancelled = None;
    let outcome = loop {
        match stream.next().await {
            Some(Ok(_)) => {
                rows += 1;
                if rows == 10_000 {
                    cancelled = Some(Instant::now());
                    token.cancel_query(tokio_postgres::NoTls).await.unwrap();
                }
            }
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    let e = outcome.expect("the stream ended without the cancel");
    assert_eq!(code(&e), "57014");
    assert!(cancelled.unwrap().elapsed() < Duration::from_secs(1));
    assert!(rows >= 10_000);
    // A wrong key does nothing.
    let (_, metrics) = http_get(server.http_port, "/metrics");
    assert!(
        metrics.contains("iriswire_cancel_requests_total{outcome=\"cancelled\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_cancels_with_sigint() {
    let server = Server::start();
    let psql = ["psql", "/usr/lib/postgresql/15/bin/psql"]
        .into_iter()
        .find(|p| {
            std::process::Command::new(p)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("psql (scripts/test-deps.sh installs postgresql-client)");
    let child = std::process::Command::new(psql)
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            LONG_QUERY,
            &server.url("app"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // psql may start slowly on a loaded machine.
    wait_active(&server, 1);
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    // Ctrl-C: psql sends a CancelRequest on a new connection.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("canceling statement due to user request"),
        "{stderr}"
    );
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeouts_close_sessions() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_SERVER_CLIENT_IDLE_TIMEOUT_MS", "400"),
            (
                "IRISWIRE_SERVER_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS",
                "300",
            ),
        ],
    );
    let (idle, idle_conn) = connect_watched(&server, "app").await;
    idle.simple_query("SELECT 1").await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), idle_conn)
        .await
        .expect("idle session closed")
        .unwrap();
    assert_eq!(code(&ended.unwrap_err()), "57P05");

    let (c, conn) = connect_watched(&server, "app").await;
    // Two Query messages: in one, the CREATE TABLE would join the
    // transaction BEGIN opens (PostgreSQL's implicit block) and roll back too.
    c.batch_execute("CREATE TABLE t (n int)").await.unwrap();
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .expect("idle transaction closed")
        .unwrap();
    assert_eq!(code(&ended.unwrap_err()), "25P03");
    // Rolled back on the backend: the row is gone and the table is not locked.
    let d = connect(&server, "app").await;
    d.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    let n: i64 = d
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // Both timeouts are counted, each under its state.
    let (_, body) = http_get(server.http_port, "/metrics");
    let count = |state: &str| -> u64 {
        let prefix = format!("iriswire_client_idle_timeouts_total{{state=\"{state}\"}} ");
        body.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    assert!(count("idle") >= 1, "{body}");
    assert_eq!(count("idle_in_transaction"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_gracefully() {
    let mut server = Server::start_with(&[], &[("IRISWIRE_SERVER_SHUTDOWN_TIMEOUT_MS", "10000")]);
    let (busy, busy_conn) = connect_watched(&server, "app").await;
    busy.batch_execute("CREATE TABLE kept (n int); BEGIN; INSERT INTO kept VALUES (42)")
        .await
        .unwrap();
    let (idle, idle_conn) = connect_watched(&server, "app").await;
    idle.simple_query("SELECT 1").await.unwrap();

    server.signal(libc::SIGTERM);
    // Readiness turns red at once; the idle session is told why it goes.
    let ended = tokio::time::timeout(Duration::from_secs(5), idle_conn)
        .await
        .expect("idle session closed")
        .unwrap();
    let e = ended.unwrap_err();
    assert_eq!(code(&e), "57P01");
    assert!(message(&e).contains("administrator command"), "{e}");
    let (status, body) = http_get(server.http_port, "/health/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    // New connections are refused.
    assert!(
        tokio_postgres::connect(&server.conninfo("app"), tokio_postgres::NoTls)
            .await
            .is_err()
    );
    // The open transaction finishes and commits.
    busy.batch_execute("INSERT INTO kept VALUES (43); COMMIT")
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), busy_conn)
        .await
        .expect("drained session closed")
        .unwrap();
    assert_eq!(code(&ended.unwrap_err()), "57P01");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("server exited");
    assert!(status.success(), "{status:?}");

    // Nothing was lost: a new server on the same data sees the commit.
    let data = std::mem::replace(&mut server.data_dir, tempfile::tempdir().unwrap());
    let again = Server::start_on(data, &[], &[]);
    let c = connect(&again, "app").await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM kept", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_deadline_cancels_and_second_signal_exits() {
    let mut server = Server::start_with(&[], &[("IRISWIRE_SERVER_SHUTDOWN_TIMEOUT_MS", "500")]);
    let (c, conn) = connect_watched(&server, "app").await;
    let run = tokio::spawn(async move { c.simple_query(LONG_QUERY).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    server.signal(libc::SIGTERM);
    let e = run.await.unwrap().unwrap_err();
    assert_eq!(code(&e), "57014");
    let _ = conn.await;
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("server exited");
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A second signal does not wait for the drain.
    let mut server = Server::start_with(&[], &[("IRISWIRE_SERVER_SHUTDOWN_TIMEOUT_MS", "60000")]);
    let c = connect(&server, "app").await;
    c.batch_execute("BEGIN").await.unwrap();
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.wait_exit(Duration::from_millis(10)).is_none());
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("server exited");
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_valid_file_and_ignores_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iriswire.toml");
    std::fs::write(&file, "[server]\nstatement_timeout_ms = 1000\n").unwrap();
    let server = Server::start_with(&["--config", file.to_str().unwrap()], &[]);
    let show = |c: tokio_postgres::Client| async move {
        let r = c.query_one("SHOW statement_timeout", &[]).await.unwrap();
        r.get::<_, String>(0)
    };
    assert_eq!(show(connect(&server, "app").await).await, "1s");

    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\n[server]\nstatement_timeout_ms = 2000\n",
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(5);
    while show(connect(&server, "app").await).await != "2s" {
        assert!(Instant::now() < deadline, "reload not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The listen address needs a restart: the server still listens where it did.
    connect(&server, "app")
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();

    std::fs::write(&file, "[server]\nstatement_timeout_ms = \"soon\"\n").unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, m) = http_get(server.http_port, "/metrics");
        if m.contains("iriswire_config_reloads_total{outcome=\"failure\"} 1") {
            assert!(
                m.contains("iriswire_config_reloads_total{outcome=\"success\"} 1"),
                "{m}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "failed reload not counted: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(show(connect(&server, "app").await).await, "2s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_outage_fails_fast_and_recovers_without_restart() {
    let marker = tempfile::tempdir().unwrap();
    let down = marker.path().join("down");
    std::fs::write(&down, "").unwrap();
    let (server, _db) = common::iris_standin_server(
        "iris-native",
        &[
            ("IRIS_STANDIN_DOWN_FILE", down.to_str().unwrap()),
            ("IRISWIRE_HEALTH_PROBE_DATABASE", "user"),
            ("IRISWIRE_HEALTH_CACHE_MS", "100"),
            ("IRISWIRE_BRIDGE_RETRY_INITIAL_MS", "200"),
            ("IRISWIRE_BRIDGE_RETRY_MAX_MS", "1000"),
        ],
    );
    let (status, body) = http_get(server.http_port, "/health/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Connection refused"), "{body}");
    // While the circuit is open, statements fail at once with the reason
    // (the login itself succeeds, as through PgBouncer, so client pools
    // keep their connections).
    let c = try_connect(&server, "app", "user").await.unwrap();
    let started = Instant::now();
    let e = c.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "08001", "{e}");
    assert!(
        message(&e).contains("backend is unavailable"),
        "{}",
        message(&e)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    let (_, m) = http_get(server.http_port, "/metrics");
    assert!(m.contains("iriswire_backend_circuit_open 1"), "{m}");

    // IRIS comes up: readiness turns green on its own.
    std::fs::remove_file(&down).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = http_get(server.http_port, "/health/ready");
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readiness stayed {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = connect(&server, "user").await;
    c.simple_query("SELECT 1").await.unwrap();
    let (_, m) = http_get(server.http_port, "/metrics");
    assert!(m.contains("iriswire_backend_circuit_open 0"), "{m}");
}

fn rows(msgs: &[tokio_postgres::SimpleQueryMessage]) -> Vec<&tokio_postgres::SimpleQueryRow> {
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_console_shows_and_controls_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iriswire.toml");
    std::fs::write(&file, "[pool]\nmax_size = 4\n").unwrap();
    let mut server = Server::start_with(
        &["--config", file.to_str().unwrap()],
        &[("IRISWIRE_SERVER_ADMIN_USERS", "ops")],
    );
    // Only admins get in.
    let e = try_connect(&server, "tester", "iriswire")
        .await
        .err()
        .unwrap();
    assert_eq!(code(&e), "42501");
    let admin = try_connect(&server, "ops", "iriswire").await.unwrap();
    let app = try_connect(&server, "app", "shop").await.unwrap();
    app.batch_execute("CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
        .await
        .unwrap();

    let version = admin.simple_query("SHOW VERSION").await.unwrap();
    assert!(rows(&version)[0].get(0).unwrap().starts_with("iriswire "));

    let pools = admin.simple_query("SHOW POOLS").await.unwrap();
    let shop = rows(&pools)
        .into_iter()
        .find(|r| r.get("database") == Some("shop"))
        .expect("the shop pool");
    assert_eq!(shop.get("user"), Some("app"));
    assert_eq!(shop.get("cl_active"), Some("1"));
    assert_eq!(shop.get("pool_size"), Some("4"));
    assert_eq!(shop.get("pool_mode"), Some("session"));

    let stats = admin.simple_query("SHOW STATS").await.unwrap();
    let shop = rows(&stats)
        .into_iter()
        .find(|r| r.get("database") == Some("shop"))
        .expect("shop stats");
    assert_eq!(shop.get("total_query_count"), Some("2"));
    assert!(shop.get("total_received").unwrap().parse::<u64>().unwrap() > 0);

    let clients = admin.simple_query("SHOW CLIENTS").await.unwrap();
    let app_row = rows(&clients)
        .into_iter()
        .find(|r| r.get("user") == Some("app"))
        .expect("the app client");
    assert_eq!(app_row.get("state"), Some("idle"));
    let link = app_row
        .get("link")
        .expect("linked to its worker")
        .to_owned();

    let servers = admin.simple_query("SHOW SERVERS").await.unwrap();
    let worker = rows(&servers)
        .into_iter()
        .find(|r| r.get("remote_pid") == Some(link.as_str()))
        .expect("the linked worker");
    assert_eq!(worker.get("database"), Some("shop"));
    assert_eq!(worker.get("state"), Some("active"));

    let config = admin.simple_query("SHOW CONFIG").await.unwrap();
    let max = rows(&config)
        .into_iter()
        .find(|r| r.get("key") == Some("pool.max_size"))
        .expect("pool.max_size");
    assert_eq!(max.get("value"), Some("4"));
    assert_eq!(max.get("changeable"), Some("yes"));

    // RELOAD applies the file now.
    std::fs::write(&file, "[pool]\nmax_size = 6\n").unwrap();
    admin.simple_query("RELOAD").await.unwrap();
    let config = admin.simple_query("SHOW CONFIG").await.unwrap();
    let max = rows(&config)
        .into_iter()
        .find(|r| r.get("key") == Some("pool.max_size"))
        .unwrap();
    assert_eq!(max.get("value"), Some("6"));
    std::fs::write(&file, "[pool]\nmax_size = \"many\"\n").unwrap();
    let e = admin.simple_query("RELOAD").await.unwrap_err();
    assert_eq!(code(&e), "F0000");

    // PAUSE holds new statements until RESUME.
    admin.simple_query("PAUSE").await.unwrap();
    let held = tokio::spawn(async move {
        let started = Instant::now();
        app.simple_query("SELECT 1").await.unwrap();
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!held.is_finished());
    admin.simple_query("RESUME").await.unwrap();
    let waited = held.await.unwrap();
    assert!(waited >= Duration::from_millis(350), "{waited:?}");

    assert_eq!(
        code(&admin.simple_query("SHOW NONSENSE").await.unwrap_err()),
        "42601"
    );
    assert_eq!(
        code(&admin.query("SHOW VERSION", &[]).await.unwrap_err()),
        "0A000"
    );

    // SHUTDOWN drains like SIGTERM.
    let _ = admin.simple_query("SHUTDOWN").await;
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("server exited");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_cannot_be_interrupted_is_killed_and_replaced() {
    // Embedded IRIS cannot interrupt a running statement from Python: the
    // worker ignores SIGINT, so the timeout must end in SIGKILL.
    let (server, _db) = common::iris_standin_server(
        "iris-embedded",
        &[("IRISWIRE_SERVER_CANCEL_GRACE_MS", "300")],
    );
    let c = connect(&server, "user").await;
    let other = connect(&server, "user").await;
    other
        .batch_execute("CREATE TABLE t (n INTEGER)")
        .await
        .unwrap();
    other
        .batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    c.batch_execute("SET statement_timeout = 200")
        .await
        .unwrap();
    let started = Instant::now();
    let e = c.simple_query(LONG_QUERY).await.unwrap_err();
    assert_eq!(code(&e), "57014");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The session goes on with a new worker; the other one kept its transaction.
    c.simple_query("SELECT 1").await.unwrap();
    other.batch_execute("COMMIT").await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let (_, m) = http_get(server.http_port, "/metrics");
    assert!(
        m.contains("iriswire_worker_exits_total{reason=\"timeout\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("iriswire_worker_exits_total{reason=\"crash\"} 0"),
        "{m}"
    );
}
