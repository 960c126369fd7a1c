//! Clients that try to break framing or exhaust the server before they log
//! in, driven over raw sockets against the running binary.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::wire::{closed, message, read_until_ready, startup};
use common::{Server, connect};

/// A table the smuggled message would drop.
async fn create_victim(server: &Server) {
    let c = connect(server, "app").await;
    c.batch_execute("CREATE TABLE victim (id int); INSERT INTO victim VALUES (1)")
        .await
        .unwrap();
}

async fn victim_rows(server: &Server) -> i64 {
    let c = connect(server, "app").await;
    c.query_one("SELECT count(*) FROM victim", &[])
        .await
        .expect("the table survives")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_smuggled_behind_a_nul_is_refused_and_never_runs() {
    let server = Server::start();
    create_victim(&server).await;

    // A NUL inside the Query, then a whole DROP message inside the same
    // Query's declared length: the attack that used to drop the table.
    let mut body = b"SELECT 'x\0".to_vec();
    body.extend(message(b'Q', b"DROP TABLE victim\0"));
    body.extend(b"'\0");
    let mut s = startup(server.port);
    s.write_all(&message(b'Q', &body)).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["08P01".to_string()]);
    assert!(closed(&mut s), "a protocol violation closes the connection");

    // A Query without its terminator, followed by a DROP message: the
    // first must not read into the second.
    let mut s = startup(server.port);
    let mut wire = message(b'Q', b"SELECT 1");
    wire.extend(message(b'Q', b"DROP TABLE victim\0"));
    s.write_all(&wire).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["08P01".to_string()]);
    assert!(closed(&mut s));

    // The same inside a Parse's query string.
    let mut s = startup(server.port);
    let mut parse = b"\0SELECT 1\0".to_vec();
    parse.extend(message(b'Q', b"DROP TABLE victim\0"));
    parse.extend(0i16.to_be_bytes());
    s.write_all(&message(b'P', &parse)).unwrap();
    s.write_all(&message(b'S', b"")).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["08P01".to_string()]);

    assert_eq!(victim_rows(&server).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_query_is_22021_and_the_session_goes_on() {
    let server = Server::start();
    let mut s = startup(server.port);
    s.write_all(&message(b'Q', b"SELECT '\xc3\x28'\0")).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["22021".to_string()]);
    // Extended protocol: the error skips to Sync, then the session is usable.
    s.write_all(&message(b'P', b"\0SELECT '\xff'\0\0\0"))
        .unwrap();
    s.write_all(&message(b'B', b"\0\0\0\0\0\0\0\0")).unwrap();
    s.write_all(&message(b'E', b"\0\0\0\0\0")).unwrap();
    s.write_all(&message(b'S', b"")).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["22021".to_string()]);
    s.write_all(&message(b'Q', b"SELECT 1\0")).unwrap();
    let (types, codes) = read_until_ready(&mut s);
    assert!(codes.is_empty() && types.contains(&b'D'), "{codes:?}");

    // A NUL inside a text parameter: PostgreSQL's text cannot hold one.
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE notes (n text)")
        .await
        .unwrap();
    let e = c
        .execute("INSERT INTO notes VALUES ($1)", &[&"a\0b"])
        .await
        .unwrap_err();
    let db = e.as_db_error().expect("a database error");
    assert_eq!(db.code().code(), "22021");
    assert_eq!(
        db.message(),
        "invalid byte sequence for encoding \"UTF8\": 0x00"
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_pre_login_headers_are_refused_at_once_without_buffering() {
    let server = Server::start();
    let rss_before = server.rss_bytes();
    let started = Instant::now();
    let mut socks = Vec::new();
    for _ in 0..4 {
        // A start-up packet that claims 1 GiB, then keeps sending.
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&0x4000_0000i32.to_be_bytes()).unwrap();
        let _ = s.write_all(&[0u8; 64 * 1024]);
        socks.push(s);
    }
    for s in &mut socks {
        let (_, codes) = read_until_ready(s);
        assert_eq!(codes, vec!["08P01".to_string()]);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused in {:?}",
        started.elapsed()
    );

    // A password message claiming 1 GiB while authentication is under way.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let params = b"user\0tester\0database\0app\0\0";
    let mut start = ((8 + params.len()) as i32).to_be_bytes().to_vec();
    start.extend(196608i32.to_be_bytes());
    start.extend(params);
    s.write_all(&start).unwrap();
    s.write_all(b"Q\x40\0\0\0").unwrap();
    assert!(closed(&mut s));

    let rss_after = server.rss_bytes();
    assert!(
        rss_after < rss_before + (8 << 20),
        "RSS grew from {rss_before} to {rss_after}"
    );
    let c = connect(&server, "app").await;
    c.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_max_message_size_are_refused_with_54000() {
    let server = Server::start_with(&[], &[("IRISWIRE_SERVER_MAX_MESSAGE_SIZE", "1048576")]);
    let rss_before = server.rss_bytes();
    let mut s = startup(server.port);
    let mut q = b"SELECT '".to_vec();
    q.extend(std::iter::repeat_n(b'x', 2 << 20));
    q.extend(b"'\0");
    // Only the header is needed for the refusal; the rest may not be read.
    let _ = s.write_all(&message(b'Q', &q));
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["54000".to_string()]);
    assert!(server.rss_bytes() < rss_before + (8 << 20));
    // Below the limit, a large statement still works.
    let c = connect(&server, "app").await;
    let big = "x".repeat(512 << 10);
    let row = c
        .query_one(&format!("SELECT length('{big}')"), &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 512 << 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_cannot_lock_out_a_real_login() {
    // 256 descriptors and 1,000 sockets that connect and never speak: the
    // pending-login cap closes the oldest, so a real client still gets in.
    let server = Server::start_with_nofile(
        &[],
        &[
            ("IRISWIRE_SERVER_MAX_PENDING_LOGINS", "64"),
            ("IRISWIRE_SERVER_LOGIN_TIMEOUT_MS", "60000"),
        ],
        256,
    );
    // Warm the pool so the real login's query finds a worker.
    connect(&server, "app")
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();
    let mut silent = Vec::new();
    for _ in 0..1000 {
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(("127.0.0.1", server.port)),
        )
        .await
        {
            Ok(Ok(s)) => silent.push(s),
            _ => break,
        }
    }
    assert!(silent.len() >= 300, "only {} sockets opened", silent.len());
    let started = Instant::now();
    let login = tokio::time::timeout(Duration::from_secs(2), async {
        let c = connect(&server, "app").await;
        c.simple_query("SELECT 1").await.unwrap();
    })
    .await;
    assert!(
        login.is_ok(),
        "a real login with {} silent sockets open took over 2 s",
        silent.len()
    );
    eprintln!(
        "login with {} silent sockets: {:?}",
        silent.len(),
        started.elapsed()
    );
    let (status, body) = common::http_get(server.http_port, "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.lines().any(|l| l
            .starts_with("iriswire_client_connections_rejected_total{reason=\"limit\"}")
            && !l.ends_with(" 0")),
        "evicted logins are counted as rejected for the limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_login_is_closed_at_the_login_timeout() {
    let server = Server::start_with(&[], &[("IRISWIRE_SERVER_LOGIN_TIMEOUT_MS", "300")]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(closed(&mut s), "closed by the login timeout");
    // Half a start-up packet, then silence: the same.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&[0, 0, 0, 40, 0, 3]).unwrap();
    assert!(closed(&mut s));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_ran_a_huge_statement_is_retired() {
    let server = Server::start_with(
        &[],
        &[
            ("IRISWIRE_BRIDGE_RECYCLE_AFTER_STATEMENT_BYTES", "100000"),
            // One worker: the next session must take the one that ran the
            // huge statement, whichever order the pool hands idle ones out.
            ("IRISWIRE_POOL_MAX_SIZE", "1"),
        ],
    );
    let recycled = || {
        let (_, body) = common::http_get(server.http_port, "/metrics");
        body.lines()
            .find(|l| l.starts_with("iriswire_worker_exits_total{reason=\"recycle\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    {
        let c = connect(&server, "app").await;
        c.simple_query("SELECT 1").await.unwrap();
    }
    {
        // A small statement: the worker goes back to the pool as it is.
        let c = connect(&server, "app").await;
        c.simple_query("SELECT 2").await.unwrap();
    }
    assert_eq!(recycled(), 0);
    let before = server.workers();
    {
        let c = connect(&server, "app").await;
        let big = "z".repeat(200_000);
        c.simple_query(&format!("SELECT length('{big}')"))
            .await
            .unwrap();
    }
    // The next session retires the worker that held 200 kB (and only it).
    let c = connect(&server, "app").await;
    c.simple_query("SELECT 3").await.unwrap();
    assert_eq!(recycled(), 1);
    let after = server.workers();
    let gone = before.iter().filter(|pid| !after.contains(pid)).count();
    assert_eq!(gone, 1, "{before:?} -> {after:?}");
}
