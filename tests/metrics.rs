//! `/metrics` after a known workload: counters and histogram counts equal
//! exactly what was done, and `promtool check metrics` accepts the output.

mod common;

use std::io::Write;

use common::{Server, connect};

fn scrape(port: u16) -> String {
    let (status, body) = common::http_get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Scrapes until `ready` holds (at most 5 s), then returns that scrape.
fn eventually(port: u16, ready: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = scrape(port);
        if ready(&text) || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_a_known_workload_and_promtool_accepts_them() {
    let server = Server::start();
    const CLIENTS: usize = 3;
    const SELECTS: usize = 10;
    const ERRORS: usize = 4;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(connect(&server, "app").await);
    }
    clients[0]
        .batch_execute("CREATE TABLE m (n int)")
        .await
        .unwrap();
    clients[0]
        .execute("INSERT INTO m VALUES (1), (2), (3)", &[])
        .await
        .unwrap();
    for i in 0..SELECTS {
        let rows = clients[i % CLIENTS]
            .query("SELECT n FROM m", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
    }
    for i in 0..ERRORS {
        // 42P01: class 42.
        assert!(
            clients[i % CLIENTS]
                .simple_query("SELECT * FROM missing")
                .await
                .is_err()
        );
    }
    // One login refused (no such database: 3D000) and one garbage start-up.
    let refused = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=app dbname=no.such",
            server.port
        ),
        tokio_postgres::NoTls,
    )
    .await;
    assert!(refused.is_err());
    {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef]).unwrap();
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut buf);
    }
    // Closed connections record their duration once their task ends, and
    // a connection turns idle just after its ReadyForQuery is sent.
    let text = eventually(server.http_port, |t| {
        sample(t, "iriswire_client_connection_duration_seconds_count") >= 3.0
            && sample(t, r#"iriswire_client_connections{state="idle"}"#) == CLIENTS as f64
    });

    let select_ok = r#"{command="SELECT",outcome="ok"}"#;
    assert_eq!(
        sample(&text, &format!("iriswire_queries_total{select_ok}")),
        SELECTS as f64
    );
    assert_eq!(
        sample(
            &text,
            &format!("iriswire_query_duration_seconds_count{select_ok}")
        ),
        SELECTS as f64
    );
    assert_eq!(
        sample(
            &text,
            r#"iriswire_queries_total{command="SELECT",outcome="error"}"#
        ),
        ERRORS as f64
    );
    assert_eq!(
        sample(
            &text,
            r#"iriswire_queries_total{command="DDL",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"iriswire_queries_total{command="INSERT",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&text, r#"iriswire_errors_total{sqlstate_class="42"}"#),
        ERRORS as f64
    );
    assert_eq!(
        sample(&text, "iriswire_rows_returned_total"),
        (SELECTS * 3) as f64
    );
    assert_eq!(
        sample(&text, r#"iriswire_client_connections{state="idle"}"#),
        CLIENTS as f64
    );
    assert_eq!(
        sample(&text, r#"iriswire_client_connections{state="active"}"#),
        0.0
    );
    // The harness's own readiness check is one more accepted connection,
    // and so are the two refused ones below.
    assert_eq!(
        sample(&text, "iriswire_client_connections_accepted_total"),
        (CLIENTS + 3) as f64
    );
    assert_eq!(
        sample(
            &text,
            r#"iriswire_client_connections_rejected_total{reason="auth"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"iriswire_client_connections_rejected_total{reason="protocol"}"#
        ),
        1.0
    );
    assert_eq!(sample(&text, "iriswire_auth_failures_total"), 0.0);
    // DDL, INSERT and each SELECT committed on their own; each error rolled back.
    assert_eq!(
        sample(&text, r#"iriswire_transactions_total{outcome="commit"}"#),
        (SELECTS + 2) as f64
    );
    assert_eq!(
        sample(&text, r#"iriswire_transactions_total{outcome="rollback"}"#),
        ERRORS as f64
    );
    assert!(sample(&text, "iriswire_client_received_bytes_total") > 500.0);
    assert!(sample(&text, "iriswire_client_sent_bytes_total") > 500.0);
    assert_eq!(sample(&text, "iriswire_max_client_connections"), 1000.0);
    assert_eq!(
        sample(
            &text,
            &format!(
                "iriswire_build_info{{version=\"{}\",backend=\"sqlite\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );
    // A real histogram with the documented buckets, not a summary.
    assert!(text.contains(
        r#"iriswire_query_duration_seconds_bucket{command="SELECT",outcome="ok",le="0.0001"}"#
    ));

    assert_eq!(sample(&text, "iriswire_pool_max_workers"), 16.0);
    assert_eq!(
        sample(&text, "iriswire_worker_starts_total"),
        CLIENTS as f64
    );
    assert_eq!(
        sample(&text, r#"iriswire_pool_workers{state="busy"}"#),
        CLIENTS as f64
    );
    assert!(sample(&text, "iriswire_translation_cache_hits_total") >= (SELECTS - 1) as f64);
    assert!(sample(&text, "iriswire_translation_cache_misses_total") >= 3.0);
    assert!(sample(&text, "process_resident_memory_bytes") > 1e6);
    promtool_check(&text);
    docs_match(&text);
}

/// docs/metrics.md lists exactly the metrics /metrics exposes.
fn docs_match(text: &str) {
    let exposed: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    let documented: std::collections::BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|n| n.starts_with("iriswire_") || n.starts_with("process_"))
        .collect();
    assert_eq!(exposed, documented, "docs/metrics.md and /metrics disagree");
}

/// Runs `promtool check metrics` on the exposition text.
fn promtool_check(text: &str) {
    use std::process::{Command, Stdio};
    let promtool = ["promtool", "/usr/bin/promtool"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .expect("promtool (scripts/test-deps.sh installs Debian's prometheus package)");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let server = Server::start_with(&[], &[("IRISWIRE_METRICS_ENABLED", "false")]);
    let c = connect(&server, "app").await;
    c.batch_execute("SELECT 1").await.unwrap();
    assert_eq!(scrape(server.http_port), "");
}
