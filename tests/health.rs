//! HTTP health endpoints of the running binary: liveness, readiness with a
//! real backend probe that turns red when the database goes away and green
//! when it returns, and the JSON summary.

mod common;

use std::time::{Duration, Instant};

use common::{Server, connect, http_get as get};

fn wait_for_status(port: u16, path: &str, want: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(port, path);
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} stayed {status}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_readiness_and_summary() {
    let server = Server::start_with(&[], &[("IRISWIRE_HEALTH_CACHE_MS", "100")]);
    let http = server.http_port;
    let (status, body) = get(http, "/health/live");
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"live\"}"));
    assert_eq!(get(http, "/health/ready").0, 200);
    assert_eq!(get(http, "/nope").0, 404);

    let a = connect(&server, "app").await;
    let b = connect(&server, "app").await;
    a.batch_execute("SELECT 1").await.unwrap();
    b.batch_execute("SELECT 1").await.unwrap();
    let (status, body) = get(http, "/health");
    assert_eq!(status, 200);
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(summary["backend"], "sqlite");
    assert_eq!(summary["connections"], 2);
    assert_eq!(summary["draining"], false);
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    let app = summary["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["database"] == "app")
        .expect("the app pool");
    assert_eq!(app["size"], 2);
    drop((a, b));

    // The database goes away: its directory is moved and every worker dies,
    // so no new session can open it. Readiness must turn red...
    let data = server.data_path();
    let moved = data.with_extension("moved");
    std::fs::rename(&data, &moved).unwrap();
    for w in server.workers() {
        // SAFETY: kill(2) on the server's own children.
        unsafe { libc::kill(w as libc::pid_t, libc::SIGKILL) };
    }
    let body = wait_for_status(http, "/health/ready", 503);
    let verdict: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(verdict["failed"], "backend", "{body}");
    assert!(
        get(http, "/metrics")
            .1
            .contains("\niriswire_backend_up 0\n")
    );
    // ...while liveness stays green, and come back when the database does.
    assert_eq!(get(http, "/health/live").0, 200);
    std::fs::rename(&moved, &data).unwrap();
    wait_for_status(http, "/health/ready", 200);
    assert!(
        get(http, "/metrics")
            .1
            .contains("\niriswire_backend_up 1\n")
    );
}
