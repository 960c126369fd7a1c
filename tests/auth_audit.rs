//! Hostile logins against the running binary: password guessing slowed per
//! source address, unknown users answered like wrong passwords (a SCRAM
//! exchange, then 28P01), the audit log with client text escaped, and IRIS
//! credentials kept out of the workers' environment.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use common::Server;

fn verifier(user: &str, password: &str, admin: bool) -> String {
    let mut child = Command::new(common::binary())
        .args(["passwd", user])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let entry = String::from_utf8(out.stdout).unwrap();
    if admin {
        format!("{entry}admin = true\n")
    } else {
        entry
    }
}

/// A server with the users `alice` (admin) and `bob`, both SCRAM, and the
/// extra file text and environment given.
fn server_with_users(
    extra: &str,
    env: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iriswire.toml");
    let config = format!(
        "{}{}{extra}",
        verifier("alice", "s3cret", true),
        verifier("bob", "hunter2", false)
    );
    std::fs::write(&file, config).unwrap();
    let args = ["--config", file.to_str().unwrap()];
    let server = match log {
        Some(path) => Server::start_logged(&args, env, path),
        None => Server::start_with(&args, env),
    };
    (server, dir)
}

fn config(server: &Server, user: &str, password: &str, db: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::from_str(&format!(
        "host=127.0.0.1 port={} user={user} dbname={db}",
        server.port
    ))
    .unwrap();
    c.password(password);
    c
}

/// Logs in from `source`, a loopback address of our choosing: the socket
/// is bound to it before connecting (tokio-postgres cannot bind).
async fn connect_from(
    source: &str,
    config: &tokio_postgres::Config,
    port: u16,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let stream = socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let (client, conn) = config.connect_raw(stream, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// As [`connect_from`], then runs `SELECT 7`.
async fn login_from(
    source: &str,
    config: &tokio_postgres::Config,
    port: u16,
) -> Result<(tokio_postgres::Client, i32), tokio_postgres::Error> {
    let client = connect_from(source, config, port).await?;
    let n = client.query_one("SELECT 7", &[]).await?.get(0);
    Ok((client, n))
}

fn sqlstate(e: &tokio_postgres::Error) -> Option<String> {
    e.as_db_error().map(|d| d.code().code().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_slowed_per_source_address_only() {
    let (server, _dir) =
        server_with_users("", &[("IRISWIRE_AUTH_FAILURE_DELAY_MAX_MS", "200")], None);
    let port = server.port;
    let alice = config(&server, "alice", "s3cret", "app");
    // Warm the pool first: a worker's start is not what is measured below.
    login_from("127.0.0.2", &alice, port).await.unwrap();
    let wrong = config(&server, "bob", "wrong", "app");
    let guesser = tokio::spawn(async move {
        let started = Instant::now();
        for _ in 0..20 {
            let e = login_from("127.0.0.1", &wrong, port).await.err().unwrap();
            assert_eq!(sqlstate(&e).as_deref(), Some("28P01"), "{e}");
        }
        started.elapsed()
    });
    // Let the guesser's delay grow to its ceiling, then log in from
    // another address: neither a success nor a first failure waits for it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let started = Instant::now();
    let client = connect_from("127.0.0.2", &alice, port)
        .await
        .expect("a login from another address");
    let ok_took = started.elapsed();
    assert_eq!(
        client
            .query_one("SELECT 7", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        7
    );
    let started = Instant::now();
    let e = connect_from("127.0.0.2", &config(&server, "alice", "nope", "app"), port)
        .await
        .err()
        .unwrap();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"));
    let first_failure_took = started.elapsed();
    let total = guesser.await.unwrap();
    // Both include the client's own PBKDF2 (slow in a debug build).
    assert!(ok_took < Duration::from_secs(1), "{ok_took:?}");
    assert!(
        first_failure_took < Duration::from_secs(1),
        "{first_failure_took:?}"
    );
    // 100 ms, then 200 ms (the ceiling) for each of the other 19.
    assert!(
        total >= Duration::from_secs(2),
        "20 failures took {total:?}"
    );

    let (_, metrics) = common::http_get(server.http_port, "/metrics");
    let sample = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert_eq!(sample("iriswire_auth_failures_total"), 21.0, "{metrics}");
    assert_eq!(
        sample(r#"iriswire_client_connections_rejected_total{reason="auth"}"#),
        21.0
    );
    assert_eq!(
        sample(r#"iriswire_client_connections_rejected_total{reason="protocol"}"#),
        0.0
    );
}

/// Start-up packet for `user` on database `app`.
fn startup_packet(user: &str) -> Vec<u8> {
    let params = format!("user\0{user}\0database\0app\0\0");
    let mut msg = ((8 + params.len()) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&196608i32.to_be_bytes());
    msg.extend_from_slice(params.as_bytes());
    msg
}

fn read_message(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// The server-first message (`r=...,s=<salt>,i=<iterations>`) a login as
/// `user` gets, over a raw socket.
fn scram_server_first(port: u16, user: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&startup_packet(user)).unwrap();
    let (tag, body) = read_message(&mut s);
    assert_eq!(tag, b'R', "{user}: {body:?}");
    // AuthenticationSASL (10), offering SCRAM-SHA-256.
    assert_eq!(&body[..4], &10i32.to_be_bytes(), "{user}");
    assert!(body.windows(13).any(|w| w == b"SCRAM-SHA-256"));
    let client_first = b"n,,n=,r=fyko+d2lbbFgONRv9qkxdawL";
    let mut p = b"SCRAM-SHA-256\0".to_vec();
    p.extend_from_slice(&(client_first.len() as i32).to_be_bytes());
    p.extend_from_slice(client_first);
    s.write_all(&common::wire::message(b'p', &p)).unwrap();
    let (tag, body) = read_message(&mut s);
    assert_eq!(tag, b'R');
    // AuthenticationSASLContinue (11).
    assert_eq!(&body[..4], &11i32.to_be_bytes());
    let text = String::from_utf8(body[4..].to_vec()).unwrap();
    // Keep only the salt and iterations: the nonce is fresh each time.
    text.split(',').skip(1).collect::<Vec<_>>().join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_get_a_scram_exchange_and_fail_like_a_wrong_password() {
    let (server, _dir) = server_with_users("", &[("IRISWIRE_AUTH_FAILURE_DELAY_MS", "0")], None);
    let real = scram_server_first(server.port, "alice");
    let unknown = scram_server_first(server.port, "nobody_here");
    let shape = |s: &str| {
        let (salt, iterations) = s.split_once(',').unwrap();
        (salt.len(), iterations.to_owned())
    };
    assert!(unknown.starts_with("s="), "{unknown}");
    assert_eq!(shape(&real), shape(&unknown), "{real} / {unknown}");
    assert_eq!(
        unknown,
        scram_server_first(server.port, "nobody_here"),
        "the same salt every time, as a real user's"
    );
    assert_ne!(unknown, scram_server_first(server.port, "someone_else"));

    for (user, password) in [("nobody_here", "x"), ("alice", "wrong")] {
        let e = login_from(
            "127.0.0.1",
            &config(&server, user, password, "app"),
            server.port,
        )
        .await
        .err()
        .unwrap();
        let db = e.as_db_error().expect("an ErrorResponse");
        assert_eq!(db.severity(), "FATAL");
        assert_eq!(db.code().code(), "28P01");
        assert_eq!(
            db.message(),
            format!("password authentication failed for user \"{user}\"")
        );
    }
    // The admin console answers non-admins only once they have logged in,
    // so it cannot tell which names are admins.
    let e = connect_from(
        "127.0.0.1",
        &config(&server, "nobody_here", "x", "iriswire"),
        server.port,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"));
    let e = connect_from(
        "127.0.0.1",
        &config(&server, "bob", "hunter2", "iriswire"),
        server.port,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(sqlstate(&e).as_deref(), Some("42501"));
}

fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until `path` holds an audit record matching `pred`.
fn wait_for(
    path: &std::path::Path,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = json_lines(path).into_iter().find(|v| pred(v)) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no such record in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const FORGED: &str = "app\n2030-01-01T00:00:00Z  INFO forged: login user=root";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_console_commands_reloads_and_drains_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("iriswire.log");
    let audit = dir.path().join("audit.jsonl");
    let extra = format!(
        "[log]\nformat = \"json\"\naudit_file = {:?}\n[auth]\nfailure_delay_ms = 0\n",
        audit.to_str().unwrap()
    );
    // The harness's log level (warn) would hide INFO lines; audit lines stay.
    let (mut server, _cfg) = server_with_users(&extra, &[], Some(&log));
    let in_file = |event: &str, user: &str| {
        let (event, user) = (event.to_owned(), user.to_owned());
        move |v: &serde_json::Value| v["event"] == event.as_str() && v["user"] == user.as_str()
    };

    let mut cfg = config(&server, "alice", "s3cret", "app");
    cfg.application_name(FORGED);
    let (client, _) = login_from("127.0.0.2", &cfg, server.port).await.unwrap();
    let login = wait_for(&audit, in_file("login", "alice"));
    assert_eq!(login["audit"], true);
    assert_eq!(login["database"], "app");
    assert_eq!(login["method"], "scram-sha-256");
    assert!(
        login["peer"].as_str().unwrap().starts_with("127.0.0.2:"),
        "{login}"
    );
    assert_eq!(login["application_name"], FORGED);
    drop(client);
    let logout = wait_for(&audit, in_file("logout", "alice"));
    assert!(logout["duration_ms"].is_u64());

    let e = login_from(
        "127.0.0.1",
        &config(&server, "bob", "wrong", "app"),
        server.port,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"));
    let failed = wait_for(&audit, in_file("login_failed", "bob"));
    assert_eq!(
        failed["reason"],
        "password authentication failed for user \"bob\""
    );
    assert!(failed["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    login_from(
        "127.0.0.1",
        &config(&server, "mallory", "x", "app"),
        server.port,
    )
    .await
    .err()
    .unwrap();
    let unknown = wait_for(&audit, in_file("login_failed", "mallory"));
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{unknown}"
    );

    let admin = connect_from(
        "127.0.0.1",
        &config(&server, "alice", "s3cret", "iriswire"),
        server.port,
    )
    .await
    .unwrap_or_else(|e| panic!("admin login: {e}"));
    admin.simple_query("SHOW VERSION").await.unwrap();
    admin.simple_query("SHOW NONSENSE").await.unwrap_err();
    let command = wait_for(&audit, in_file("admin_command", "alice"));
    assert_eq!(command["command"], "SHOW VERSION");
    assert_eq!(command["outcome"], "ok");
    let refused = wait_for(&audit, |v| {
        v["event"] == "admin_command" && v["command"] == "SHOW NONSENSE"
    });
    assert_eq!(refused["outcome"], "error");
    connect_from(
        "127.0.0.1",
        &config(&server, "bob", "hunter2", "iriswire"),
        server.port,
    )
    .await
    .err()
    .unwrap();
    wait_for(&audit, in_file("admin_denied", "bob"));

    // Rotation: rename the file, SIGHUP, and the next records go to a new one.
    let rotated = dir.path().join("audit.jsonl.1");
    std::fs::rename(&audit, &rotated).unwrap();
    server.signal(libc::SIGHUP);
    let reload = wait_for(&audit, |v| v["event"] == "reload");
    assert_eq!(reload["outcome"], "ok");
    assert!(json_lines(&rotated).iter().any(|v| v["event"] == "login"));

    server.signal(libc::SIGTERM);
    let drain = wait_for(&audit, |v| v["event"] == "drain");
    assert_eq!(drain["reason"], "SIGTERM");
    server.wait_exit(Duration::from_secs(10));

    // The same records in the server's JSON log, as audit=true lines; the
    // forged line is a string inside one line, never a line of its own.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.lines().any(|l| l.starts_with("2030-01-01")), "{text}");
    let lines = json_lines(&log);
    let audited: Vec<_> = lines
        .iter()
        .filter(|l| l["fields"]["audit"] == true && l["target"] == "iriswire::audit")
        .collect();
    for event in [
        "login",
        "login_failed",
        "logout",
        "admin_command",
        "admin_denied",
        "reload",
        "drain",
    ] {
        assert!(
            audited.iter().any(|l| l["fields"]["event"] == event),
            "no {event} line in {text}"
        );
    }
    let login = audited
        .iter()
        .find(|l| l["fields"]["event"] == "login" && l["fields"]["user"] == "alice")
        .unwrap();
    assert_eq!(login["fields"]["application_name"], FORGED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_log_escapes_client_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("iriswire.log");
    let server = Server::start_logged(&[], &[("IRISWIRE_LOG_LEVEL", "info")], &log);
    let mut cfg = tokio_postgres::Config::from_str(&server.conninfo("app")).unwrap();
    cfg.application_name(FORGED);
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    client.simple_query("SELECT 1").await.unwrap();
    drop(client);
    task.await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("logout") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!text.lines().any(|l| l.starts_with("2030-01-01")), "{text}");
    let escaped = FORGED.replace('\n', "\\n");
    for what in ["connection opened", "audit: login", "audit: logout"] {
        let line = text
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} line in {text}"));
        assert!(line.contains(&escaped), "{line}");
    }
}

/// The environment of process `pid`, as `NAME=value` strings.
fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn sha256_hex(s: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, s.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iris_passwords_reach_workers_only_through_their_pipe() {
    const PASSWORD: &str = "Zq7-not-in-any-environ";
    let digest = sha256_hex(PASSWORD);
    for backend in ["iris-native", "iris-embedded"] {
        let (server, _db) = common::iris_standin_server(
            backend,
            &[
                ("IRISPASSWORD", PASSWORD),
                ("IRISWIRE_IRIS_PASSWORD", PASSWORD),
                ("IRIS_STANDIN_PASSWORD_SHA256", &digest),
            ],
        );
        // The stand-in refuses any other password: this statement proves
        // the worker's driver got it.
        let c = common::connect(&server, "user").await;
        c.simple_query("SELECT 1").await.unwrap();
        let workers = server.workers();
        assert!(!workers.is_empty(), "{backend}: no worker");
        for pid in workers {
            let env = environ(pid);
            assert!(
                env.iter().any(|v| v.starts_with("IRIS_STANDIN_DB=")),
                "{backend}: {env:?}"
            );
            for v in &env {
                assert!(!v.contains(PASSWORD), "{backend}: worker {pid} has {v}");
                assert!(!v.starts_with("IRISPASSWORD="), "{backend}: {v}");
                assert!(!v.starts_with("IRISWIRE_WORKER_CONFIG="), "{backend}: {v}");
            }
        }
    }
    // With another password the worker's login fails, as IRIS's would.
    let (server, _db) = common::iris_standin_server(
        "iris-native",
        &[
            ("IRISPASSWORD", "wrong"),
            ("IRIS_STANDIN_PASSWORD_SHA256", &digest),
        ],
    );
    let c = common::connect(&server, "user").await;
    let Err(e) = c.simple_query("SELECT 1").await else {
        panic!("the stand-in must refuse the wrong password");
    };
    assert_eq!(sqlstate(&e).as_deref(), Some("28P01"), "{e}");
}
