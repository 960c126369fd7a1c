//! COPY against the running binary: tokio-postgres's `copy_in`/`copy_out`
//! (extended protocol, binary and text), errors with PostgreSQL's
//! SQLSTATEs and line numbers, CopyFail, transactions, and the IRIS
//! backends through the stand-in.

mod common;

use std::io::Write;

use bytes::Bytes;
use common::wire::{message, read_until_ready, startup};
use common::{Server, connect, peak_rss_during};
use futures::{SinkExt, TryStreamExt};
use tokio_postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutStream};
use tokio_postgres::types::Type;

const TABLE: &str = "CREATE TABLE t (id integer PRIMARY KEY, name text, score double precision)";

async fn count(c: &tokio_postgres::Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

/// Sends `data` with `copy_in`; the error, if the COPY failed.
async fn copy_text(
    c: &tokio_postgres::Client,
    sql: &str,
    data: &str,
) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, Bytes>(sql).await?;
    futures::pin_mut!(sink);
    // Small messages: rows straddle CopyData boundaries.
    for chunk in data.as_bytes().chunks(7) {
        sink.send(Bytes::copy_from_slice(chunk)).await?;
    }
    sink.finish().await
}

#[tokio::test]
async fn tokio_postgres_binary_copy_in_and_out() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(TABLE).await.unwrap();
    let types = [Type::INT4, Type::TEXT, Type::FLOAT8];
    let sink = c
        .copy_in("COPY t (id, name, score) FROM STDIN (FORMAT binary)")
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    // More than one batch (1,000 rows) on the way to the worker.
    for i in 0..2500i32 {
        let name = (i % 7 != 0).then(|| format!("name {i}\t\\"));
        writer
            .as_mut()
            .write(&[&i, &name, &(i as f64 / 4.0)])
            .await
            .unwrap();
    }
    assert_eq!(writer.finish().await.unwrap(), 2500);
    assert_eq!(count(&c, "t").await, 2500);

    let stream = c
        .copy_out("COPY (SELECT id, name, score FROM t ORDER BY id) TO STDOUT (FORMAT binary)")
        .await
        .unwrap();
    let rows: Vec<_> = BinaryCopyOutStream::new(stream, &types)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2500);
    assert_eq!(rows[3].get::<i32>(0), 3);
    assert_eq!(rows[3].get::<Option<&str>>(1), Some("name 3\t\\"));
    assert_eq!(rows[7].get::<Option<&str>>(1), None);
    assert_eq!(rows[10].get::<f64>(2), 2.5);

    // Text out: one CopyData per row, PostgreSQL's escapes.
    let stream = c
        .copy_out("COPY t TO STDOUT WITH (FORMAT text)")
        .await
        .unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.len(), 2500);
    assert!(chunks.iter().any(|l| &l[..] == b"0\t\\N\t0\n"));
    assert!(chunks.iter().any(|l| &l[..] == b"1\tname 1\\t\\\\\t0.25\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_copy_in_streams_with_bounded_memory() {
    const ROWS: usize = 600_000;
    let server = Server::start();
    let c = connect(&server, "big").await;
    c.batch_execute(TABLE).await.unwrap();
    let pad = "p".repeat(80);
    let mut sent = 0usize;
    let peak = peak_rss_during(&server, async {
        let sink = c.copy_in::<_, Bytes>("COPY t FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        let mut chunk = String::new();
        for i in 0..ROWS {
            chunk.push_str(&format!("{i}\t{pad} {i}\t{i}.5\n"));
            if chunk.len() > 64 * 1024 {
                sent += chunk.len();
                sink.send(Bytes::from(std::mem::take(&mut chunk)))
                    .await
                    .unwrap();
            }
        }
        sent += chunk.len();
        sink.send(Bytes::from(chunk)).await.unwrap();
        assert_eq!(sink.finish().await.unwrap(), ROWS as u64);
    })
    .await;
    eprintln!(
        "COPY of {} MiB: peak server RSS {} MiB",
        sent >> 20,
        peak >> 20
    );
    assert!(sent > 48 << 20);
    assert!(peak < 40 << 20, "peak RSS {peak} bytes: the input was held");
    assert_eq!(count(&c, "t").await, ROWS as i64);
}

#[tokio::test]
async fn text_and_csv_copy_in_with_options() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(TABLE).await.unwrap();
    let n = copy_text(
        &c,
        "COPY t FROM STDIN",
        "1\tone\t1.5\n2\t\\N\t2\n3\tline\\nbreak\t-1e3\n\\.\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    let n = copy_text(
        &c,
        "COPY t (score, id, name) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'NA')",
        "score;id;name\n0.5;4;\"semi;colon\"\nNA;5;\"multi\nline\"\n7;6;NA\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    let rows = c
        .query("SELECT id, name, score FROM t ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, Option<String>, Option<f64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Some("one".into()), Some(1.5)),
            (2, None, Some(2.0)),
            (3, Some("line\nbreak".into()), Some(-1000.0)),
            (4, Some("semi;colon".into()), Some(0.5)),
            (5, Some("multi\nline".into()), None),
            (6, None, Some(7.0)),
        ]
    );
}

#[tokio::test]
async fn a_bad_row_names_its_line_and_leaves_no_row_behind() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(TABLE).await.unwrap();
    let e = copy_text(
        &c,
        "COPY t FROM STDIN",
        "1\ta\t1\n2\tb\t2\nabc\tc\t3\n4\td\t4\n",
    )
    .await
    .unwrap_err();
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "22P02");
    assert_eq!(
        db.message(),
        "invalid input syntax for type integer: \"abc\""
    );
    assert_eq!(db.where_(), Some("COPY t, line 3, column id: \"abc\""));
    assert_eq!(count(&c, "t").await, 0);

    // Failing in the third batch: the first two, already inserted, go too.
    let mut data = String::new();
    for i in 1..=2600 {
        data.push_str(&format!("{}\tn\t1\n", if i == 2501 { 1 } else { i }));
    }
    let e = copy_text(&c, "COPY t FROM STDIN", &data).await.unwrap_err();
    let db = e.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23505");
    assert_eq!(db.where_(), Some("COPY t, line 2501"));
    assert_eq!(count(&c, "t").await, 0);

    // Rows of the wrong width, and PostgreSQL's refusals of the statement.
    let e = copy_text(&c, "COPY t FROM STDIN", "1\ta\n")
        .await
        .unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code().code(), "22P04");
    assert_eq!(db.message(), "missing data for column \"score\"");
    assert_eq!(db.where_(), Some("COPY t, line 1: \"1\ta\""));
    for (sql, code) in [
        ("COPY missing FROM STDIN", "42P01"),
        ("COPY t (nope) FROM STDIN", "42703"),
        ("COPY t FROM '/etc/passwd'", "42501"),
        ("COPY t TO PROGRAM 'ls'", "42501"),
        ("COPY t FROM STDIN (FORMAT xml)", "22023"),
    ] {
        let e = c.copy_in::<_, Bytes>(sql).await.err().expect(sql);
        assert_eq!(e.as_db_error().unwrap().code().code(), code, "{sql}");
    }
    assert_eq!(count(&c, "t").await, 0);
}

#[tokio::test]
async fn copy_in_a_transaction_goes_with_it() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(TABLE).await.unwrap();
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(
        copy_text(&c, "COPY t FROM STDIN", "1\ta\t1\n2\tb\t2\n")
            .await
            .unwrap(),
        2
    );
    assert_eq!(count(&c, "t").await, 2);
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&c, "t").await, 0);

    // A failed COPY aborts the client's transaction, as any failed statement.
    c.batch_execute("BEGIN").await.unwrap();
    copy_text(&c, "COPY t FROM STDIN", "1\ta\t1\nx\tb\t2\n")
        .await
        .unwrap_err();
    let e = c.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "25P02");
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&c, "t").await, 0);

    // A COMMIT of the COPY's own transaction that fails rolls it back.
    c.batch_execute(
        "CREATE TABLE parent (id integer PRIMARY KEY); \
         CREATE TABLE child (pid integer REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    .await
    .unwrap();
    let e = copy_text(&c, "COPY child FROM STDIN", "1\n")
        .await
        .unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "23503");
    assert_eq!(
        count(&c, "child").await,
        0,
        "and the session is not left aborted"
    );
}

/// Backend messages until ReadyForQuery or CopyInResponse: (type, fields of
/// an ErrorResponse, or a DataRow's first value as field `D`).
fn read_messages(s: &mut std::net::TcpStream) -> Vec<(u8, Vec<(u8, String)>)> {
    use std::io::Read;
    let mut out = Vec::new();
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).unwrap();
        let fields = if head[0] == b'E' {
            body.split(|b| *b == 0)
                .filter(|f| !f.is_empty())
                .map(|f| (f[0], String::from_utf8_lossy(&f[1..]).into_owned()))
                .collect()
        } else if head[0] == b'D' {
            vec![(b'D', String::from_utf8_lossy(&body[6..]).into_owned())]
        } else {
            vec![]
        };
        out.push((head[0], fields));
        if head[0] == b'Z' || head[0] == b'G' {
            return out;
        }
    }
}

#[test]
fn copy_fail_from_the_client_rolls_the_copy_back() {
    let server = Server::start();
    let mut s = startup(server.port);
    s.write_all(&message(b'Q', format!("{TABLE}\0").as_bytes()))
        .unwrap();
    read_until_ready(&mut s);
    s.write_all(&message(b'Q', b"COPY t FROM STDIN\0")).unwrap();
    let started = read_messages(&mut s);
    assert_eq!(started.last().unwrap().0, b'G', "CopyInResponse");
    s.write_all(&message(b'd', b"1\ta\t1\n")).unwrap();
    s.write_all(&message(b'f', b"the client gave up\0"))
        .unwrap();
    let end = read_messages(&mut s);
    let (_, error) = end.iter().find(|(t, _)| *t == b'E').expect("an error");
    let field = |k: u8| error.iter().find(|(c, _)| *c == k).map(|(_, v)| v.as_str());
    assert_eq!(field(b'C'), Some("57014"));
    assert_eq!(
        field(b'M'),
        Some("COPY from stdin failed: the client gave up")
    );
    assert_eq!(end.last().unwrap().0, b'Z');
    // Stray copy messages after the COPY ended are dropped, as in PostgreSQL.
    s.write_all(&message(b'd', b"2\tb\t2\n")).unwrap();
    s.write_all(&message(b'c', b"")).unwrap();
    s.write_all(&message(b'Q', b"SELECT count(*) FROM t\0"))
        .unwrap();
    let (types, codes) = read_until_ready(&mut s);
    assert!(codes.is_empty(), "{codes:?}");
    assert!(types.contains(&b'D'));
}

#[test]
fn a_query_during_copy_in_ends_the_copy() {
    let server = Server::start();
    let mut s = startup(server.port);
    s.write_all(&message(b'Q', format!("{TABLE}\0").as_bytes()))
        .unwrap();
    read_until_ready(&mut s);
    s.write_all(&message(b'Q', b"COPY t FROM STDIN\0")).unwrap();
    assert_eq!(read_messages(&mut s).last().unwrap().0, b'G');
    s.write_all(&message(b'd', b"1\ta\t1\n")).unwrap();
    s.write_all(&message(b'Q', b"SELECT 1\0")).unwrap();
    let (_, codes) = read_until_ready(&mut s);
    assert_eq!(codes, vec!["08P01".to_owned()]);
    s.write_all(&message(b'Q', b"SELECT count(*) FROM t\0"))
        .unwrap();
    let end = read_messages(&mut s);
    let row = end.iter().find(|(t, _)| *t == b'D').expect("a row");
    assert_eq!(
        row.1,
        vec![(b'D', "0".to_owned())],
        "the COPY's row is gone"
    );
}

#[tokio::test]
async fn copy_out_of_a_query_in_csv() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(TABLE).await.unwrap();
    c.batch_execute("INSERT INTO t VALUES (1, 'a,b', 0.5), (2, NULL, NULL), (3, '', 2)")
        .await
        .unwrap();
    let stream = c
        .copy_out("COPY (SELECT id, name FROM t ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE (id))")
        .await
        .unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    let text: String = chunks
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(text, "id,name\n\"1\",\"a,b\"\n\"2\",\n\"3\",\"\"\n");
    let e = c
        .copy_out("COPY t TO STDOUT (FORCE_NULL (id))")
        .await
        .err()
        .expect("FORCE_NULL is for COPY FROM");
    assert_eq!(e.as_db_error().unwrap().code().code(), "0A000");
}

async fn copy_on_iris(backend: &str, names_row: bool) {
    let (server, _db) = common::iris_standin_server(backend, &[]);
    let c = connect(&server, "user").await;
    c.batch_execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20), score DOUBLE)")
        .await
        .unwrap();
    let n = copy_text(
        &c,
        "COPY people FROM STDIN (FORMAT csv)",
        "1,ada,9.5\n2,,1\n",
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    let e = copy_text(
        &c,
        "COPY people FROM STDIN (FORMAT csv)",
        "3,x,1\n1,dup,2\n",
    )
    .await
    .unwrap_err();
    let db = e.as_db_error().unwrap();
    assert_eq!(db.code().code(), "23505");
    if names_row {
        assert_eq!(db.where_(), Some("COPY people, line 2"));
    }
    assert_eq!(count(&c, "people").await, 2);
    let stream = c
        .copy_out("COPY people (id, name) TO STDOUT")
        .await
        .unwrap();
    let mut rows: Vec<Bytes> = stream.try_collect().await.unwrap();
    rows.sort();
    assert_eq!(rows, vec![Bytes::from("1\tada\n"), Bytes::from("2\t\\N\n")]);
}

#[tokio::test]
async fn copy_on_iris_embedded_through_the_stand_in() {
    copy_on_iris("iris-embedded", true).await;
}

#[tokio::test]
async fn copy_on_iris_native_through_the_stand_in() {
    copy_on_iris("iris-native", false).await;
}
