//! Malformed protocol input gets an error or a closed connection; the
//! server keeps serving everyone else and does not grow.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::wire::{closed, message, read_until_ready, startup};
use common::{Server, connect};

async fn still_serving(server: &Server) {
    let c = connect(server, "app").await;
    let v: i32 = c.query_one("SELECT 41 + 1", &[]).await.unwrap().get(0);
    assert_eq!(v, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_refused_and_others_keep_working() {
    let server = Server::start();
    still_serving(&server).await;
    let rss_before = server.rss_bytes();

    // Garbage instead of a startup packet.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"\x00\x00\x00\x10GARBAGE-GARBAGE!").unwrap();
    assert!(closed(&mut s), "garbage start-up must close the connection");

    // Truncated startup packet: announces 100 bytes, sends 10, hangs up.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&[0, 0, 0, 100, 0, 3, 0, 0, b'u', b's'])
        .unwrap();
    drop(s);

    // A message claiming 2^31-1 bytes must not make the server allocate it.
    for _ in 0..5 {
        let mut s = startup(server.port);
        s.write_all(&[b'Q', 0x7f, 0xff, 0xff, 0xff]).unwrap();
        s.write_all(b"SELECT 1").unwrap();
        assert!(
            closed(&mut s),
            "oversized message must close the connection"
        );
    }

    // Unknown message type.
    let mut s = startup(server.port);
    s.write_all(&message(b'z', b"??")).unwrap();
    s.write_all(&message(b'Q', b"SELECT 1\0")).unwrap();
    let (types, _) = read_until_ready(&mut s);
    assert!(
        types.is_empty() || types.contains(&b'E') || types.contains(&b'Z'),
        "unknown message: {types:?}"
    );

    // Bind with the wrong number of parameters: 08P01, then usable again.
    let mut s = startup(server.port);
    let mut parse = b"\0SELECT $1::int\0".to_vec();
    parse.extend_from_slice(&0i16.to_be_bytes());
    s.write_all(&message(b'P', &parse)).unwrap();
    let mut bind = b"\0\0".to_vec();
    bind.extend_from_slice(&0i16.to_be_bytes()); // parameter formats
    bind.extend_from_slice(&0i16.to_be_bytes()); // parameters: none, 1 needed
    bind.extend_from_slice(&0i16.to_be_bytes()); // result formats
    s.write_all(&message(b'B', &bind)).unwrap();
    s.write_all(&message(b'E', b"\0\0\0\0\0")).unwrap();
    s.write_all(&message(b'S', b"")).unwrap();
    let (types, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["08P01".to_string()], "{types:?}");
    s.write_all(&message(b'Q', b"SELECT 1\0")).unwrap();
    let (types, codes) = read_until_ready(&mut s);
    assert!(
        codes.is_empty() && types.contains(&b'D'),
        "{types:?} {codes:?}"
    );

    // A parameter number no Bind could supply must not size anything by it.
    let c = connect(&server, "app").await;
    for sql in ["SELECT $99999999999", "SELECT $2"] {
        let err = c.simple_query(sql).await.unwrap_err();
        assert_eq!(err.as_db_error().unwrap().code().code(), "42P02", "{sql}");
    }
    let err = c.prepare("SELECT $4294967296").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42P02");

    still_serving(&server).await;
    let rss_after = server.rss_bytes();
    assert!(
        rss_after < rss_before + (16 << 20),
        "RSS grew from {rss_before} to {rss_after}"
    );
}
