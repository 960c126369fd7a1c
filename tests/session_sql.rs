//! Session SQL against the running binary (embedded SQLite default) with
//! tokio-postgres: a multi-statement Query as PostgreSQL's implicit
//! transaction block, PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE,
//! transaction characteristics and read-only transactions.

mod common;

use common::{Server, connect};
use tokio_postgres::{Client, SimpleQueryMessage};

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| panic!("not a database error: {e}"))
}

fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().unwrap().message().to_owned()
}

/// The first column of every row a simple Query returned, in order.
async fn column(c: &Client, sql: &str) -> Vec<String> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_owned()),
            _ => None,
        })
        .collect()
}

/// The row counts of a simple Query's CommandCompletes, in order.
async fn counts(c: &Client, sql: &str) -> Vec<u64> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// A raw connection, to read what tokio-postgres does not expose: the
/// command tags (tokio-postgres keeps only their row counts).
struct Raw(std::net::TcpStream);

impl Raw {
    fn connect(server: &Server) -> Raw {
        Raw(common::wire::startup(server.port))
    }

    /// The command tags of a simple Query, in order, with the SQLSTATE of
    /// each warning and error where it came.
    fn tags(&mut self, sql: &str) -> Vec<String> {
        use std::io::{Read, Write};
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.0
            .write_all(&common::wire::message(b'Q', &body))
            .unwrap();
        let mut out = Vec::new();
        loop {
            let mut head = [0u8; 5];
            self.0.read_exact(&mut head).unwrap();
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; len - 4];
            self.0.read_exact(&mut body).unwrap();
            match head[0] {
                b'C' => out.push(String::from_utf8_lossy(&body[..body.len() - 1]).into_owned()),
                b'E' | b'N' => {
                    let kind = if head[0] == b'E' { "ERROR" } else { "WARNING" };
                    for f in body.split(|b| *b == 0) {
                        if f.first() == Some(&b'C') {
                            out.push(format!("{kind} {}", String::from_utf8_lossy(&f[1..])));
                        }
                    }
                }
                b'Z' => return out,
                _ => {}
            }
        }
    }
}

async fn ids(c: &Client) -> Vec<String> {
    column(c, "SELECT id FROM t ORDER BY id").await
}

#[tokio::test]
async fn a_multi_statement_query_is_one_implicit_transaction() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .unwrap();

    // A later failure rolls back the earlier statements of the Query.
    let e = c
        .batch_execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT 1/0; INSERT INTO t VALUES (3)")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22012");
    assert!(ids(&c).await.is_empty());
    c.batch_execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)")
        .await
        .unwrap_err();
    assert!(ids(&c).await.is_empty());

    // PostgreSQL's own example: the explicit COMMIT keeps what precedes it;
    // what follows is a new implicit block, rolled back by the error.
    let e = c
        .batch_execute(
            "BEGIN; INSERT INTO t VALUES (1); COMMIT; INSERT INTO t VALUES (2); SELECT 1/0",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22012");
    assert_eq!(ids(&c).await, ["1"]);

    // Statements before a BEGIN join the block it opens: still open after the Query.
    c.batch_execute("INSERT INTO t VALUES (10); BEGIN; INSERT INTO t VALUES (11)")
        .await
        .unwrap();
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(ids(&c).await, ["1"]);

    // BEGIN; error; ROLLBACK in one Query leaves the block failed (ROLLBACK is never reached).
    c.batch_execute("BEGIN; SELECT 1/0; ROLLBACK")
        .await
        .unwrap_err();
    let e = c.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    c.batch_execute("ROLLBACK").await.unwrap();

    // All succeed: committed at the end.
    c.batch_execute("INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)")
        .await
        .unwrap();
    let other = connect(&server, "app").await;
    assert_eq!(ids(&other).await, ["1", "2", "3"]);
    // A COMMIT of the implicit block warns and commits; the rest is a new block.
    assert_eq!(
        counts(
            &c,
            "INSERT INTO t VALUES (4); COMMIT; INSERT INTO t VALUES (5)"
        )
        .await,
        [1, 0, 1]
    );
    assert_eq!(ids(&other).await, ["1", "2", "3", "4", "5"]);

    // What cannot run in a block, or needs one.
    let e = c.batch_execute("SELECT 1; VACUUM").await.unwrap_err();
    assert_eq!(code(&e), "25001");
    assert_eq!(message(&e), "VACUUM cannot run inside a transaction block");
    c.batch_execute("VACUUM").await.unwrap();
    let e = c
        .batch_execute("INSERT INTO t VALUES (6); SAVEPOINT s")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "25P01");
    assert_eq!(
        message(&e),
        "SAVEPOINT can only be used in transaction blocks"
    );
    let e = c.batch_execute("RELEASE SAVEPOINT s").await.unwrap_err();
    assert_eq!(code(&e), "25P01");
    assert_eq!(ids(&other).await, ["1", "2", "3", "4", "5"]);
    // Inside an explicit block savepoints work as before.
    c.batch_execute(
        "BEGIN; INSERT INTO t VALUES (6); SAVEPOINT s; INSERT INTO t VALUES (7); ROLLBACK TO SAVEPOINT s; COMMIT",
    )
    .await
    .unwrap();
    assert_eq!(ids(&other).await, ["1", "2", "3", "4", "5", "6"]);
    // SET LOCAL lasts until the end of the Query's implicit block.
    assert_eq!(
        column(
            &c,
            "SET LOCAL statement_timeout = '5s'; SHOW statement_timeout"
        )
        .await,
        ["5s"]
    );
    assert_eq!(column(&c, "SHOW statement_timeout").await, ["0"]);
}

#[tokio::test]
async fn prepare_execute_and_deallocate() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await
        .unwrap();
    assert_eq!(
        counts(
            &c,
            "PREPARE q (int) AS SELECT name FROM t WHERE id >= $1 ORDER BY id"
        )
        .await,
        [0]
    );
    assert_eq!(column(&c, "EXECUTE q(2)").await, ["b", "c"]);
    assert_eq!(column(&c, "EXECUTE q('3')").await, ["c"]);
    // EXECUTE's tag is the statement's own.
    c.batch_execute("PREPARE ins AS INSERT INTO t VALUES ($1, $2)")
        .await
        .unwrap();
    assert_eq!(counts(&c, "EXECUTE ins(4, 'd')").await, [1]);
    // The statement is described once and bound with the extended protocol too.
    let rows = c.query("EXECUTE q(4)", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), "d");

    let e = c.batch_execute("EXECUTE q(1, 2)").await.unwrap_err();
    assert_eq!(code(&e), "42601");
    assert_eq!(
        message(&e),
        "wrong number of parameters for prepared statement \"q\""
    );
    assert_eq!(
        e.as_db_error().unwrap().detail(),
        Some("Expected 1 parameters but got 2.")
    );
    let e = c.batch_execute("PREPARE q AS SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "42P05");
    assert_eq!(message(&e), "prepared statement \"q\" already exists");
    let e = c.batch_execute("EXECUTE missing").await.unwrap_err();
    assert_eq!(code(&e), "26000");
    assert_eq!(message(&e), "prepared statement \"missing\" does not exist");
    let e = c.batch_execute("EXECUTE q(now())").await.unwrap_err();
    assert_eq!(code(&e), "0A000");

    assert_eq!(counts(&c, "DEALLOCATE q").await, [0]);
    let e = c.batch_execute("DEALLOCATE q").await.unwrap_err();
    assert_eq!(code(&e), "26000");
    assert_eq!(counts(&c, "DEALLOCATE PREPARE ALL").await, [0]);
    let e = c.batch_execute("EXECUTE ins(5, 'e')").await.unwrap_err();
    assert_eq!(code(&e), "26000");
    // A simple Query still binds nothing.
    let e = c.batch_execute("SELECT $1").await.unwrap_err();
    assert_eq!(code(&e), "42P02");
}

#[tokio::test]
async fn cursors_fetch_move_and_close() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY); WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000) INSERT INTO t SELECT n FROM s",
    )
    .await
    .unwrap();
    let e = c
        .batch_execute("DECLARE c CURSOR FOR SELECT id FROM t")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "25P01");
    assert_eq!(
        message(&e),
        "DECLARE CURSOR can only be used in transaction blocks"
    );

    c.batch_execute("BEGIN; DECLARE c CURSOR FOR SELECT id FROM t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(column(&c, "FETCH 2 FROM c").await, ["1", "2"]);
    assert_eq!(counts(&c, "FETCH NEXT FROM c").await, [1]);
    assert_eq!(counts(&c, "MOVE FORWARD 996 IN c").await, [996]);
    assert_eq!(column(&c, "FETCH c").await, ["1000"]);
    // Another statement while the cursor is open: the cursor keeps its place.
    assert_eq!(column(&c, "SELECT count(*) FROM t").await, ["2000"]);
    let rows = column(&c, "FETCH ALL IN c").await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.last().unwrap(), "2000");
    assert_eq!(counts(&c, "FETCH c").await, [0]);
    // NO SCROLL: backwards is refused, and the transaction aborts.
    let e = c.batch_execute("FETCH PRIOR FROM c").await.unwrap_err();
    assert_eq!(code(&e), "0A000");
    assert_eq!(message(&e), "cursor can only scan forward");
    c.batch_execute("ROLLBACK").await.unwrap();
    let e = c.batch_execute("FETCH c").await.unwrap_err();
    assert_eq!(code(&e), "34000");
    assert_eq!(message(&e), "cursor \"c\" does not exist");

    // SCROLL cursors go back and forth, as PostgreSQL's.
    c.batch_execute(
        "BEGIN; DECLARE s SCROLL CURSOR FOR SELECT id FROM t WHERE id <= 5 ORDER BY id",
    )
    .await
    .unwrap();
    assert_eq!(column(&c, "FETCH LAST FROM s").await, ["5"]);
    assert_eq!(column(&c, "FETCH PRIOR FROM s").await, ["4"]);
    assert_eq!(column(&c, "FETCH ABSOLUTE 2 FROM s").await, ["2"]);
    assert_eq!(column(&c, "FETCH RELATIVE 2 FROM s").await, ["4"]);
    assert_eq!(column(&c, "FETCH BACKWARD 2 FROM s").await, ["3", "2"]);
    assert_eq!(column(&c, "FETCH FORWARD 0 FROM s").await, ["2"]);
    assert_eq!(column(&c, "FETCH ABSOLUTE -1 FROM s").await, ["5"]);
    assert_eq!(column(&c, "FETCH s").await, Vec::<String>::new());
    assert_eq!(
        column(&c, "FETCH BACKWARD ALL FROM s").await,
        ["5", "4", "3", "2", "1"]
    );
    assert_eq!(counts(&c, "MOVE ABSOLUTE 0 IN s").await, [0]);
    assert_eq!(column(&c, "FETCH FIRST FROM s").await, ["1"]);
    let e = c
        .batch_execute("DECLARE s CURSOR FOR SELECT 1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "42P03");
    c.batch_execute("ROLLBACK").await.unwrap();

    // WITH HOLD survives COMMIT, its rows kept by iriswire; CLOSE ends it.
    c.batch_execute("BEGIN; DECLARE h CURSOR WITH HOLD FOR SELECT id FROM t WHERE id > 1990 ORDER BY id; COMMIT")
        .await
        .unwrap();
    assert_eq!(column(&c, "FETCH 3 FROM h").await, ["1991", "1992", "1993"]);
    assert_eq!(column(&c, "FETCH ALL FROM h").await.len(), 7);
    assert_eq!(counts(&c, "CLOSE h").await, [0]);
    // Declared outside a block, WITH HOLD commits at once.
    c.batch_execute("DECLARE h2 CURSOR WITH HOLD FOR SELECT id FROM t WHERE id <= 3 ORDER BY id")
        .await
        .unwrap();
    // A ROLLBACK later keeps a cursor held from an earlier commit.
    c.batch_execute("BEGIN; DECLARE gone CURSOR WITH HOLD FOR SELECT 1; ROLLBACK")
        .await
        .unwrap();
    assert_eq!(column(&c, "FETCH ALL FROM h2").await, ["1", "2", "3"]);
    let e = c.batch_execute("CLOSE gone").await.unwrap_err();
    assert_eq!(code(&e), "34000");
    assert_eq!(counts(&c, "CLOSE ALL").await, [0]);

    // A multi-statement Query is a block: DECLARE and FETCH in one string.
    assert_eq!(
        column(
            &c,
            "DECLARE m CURSOR FOR SELECT id FROM t ORDER BY id; FETCH 2 FROM m"
        )
        .await,
        ["1", "2"]
    );
    let e = c.batch_execute("FETCH m").await.unwrap_err();
    assert_eq!(code(&e), "34000");
}

#[tokio::test]
async fn transaction_characteristics_are_reported_and_enforced() {
    let server = Server::start();
    let c = connect(&server, "app").await;
    c.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    for (begin, level) in [
        ("BEGIN", "read committed"),
        ("BEGIN ISOLATION LEVEL READ UNCOMMITTED", "read uncommitted"),
        (
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "repeatable read",
        ),
        (
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE",
            "serializable",
        ),
    ] {
        c.batch_execute(begin).await.unwrap();
        assert_eq!(column(&c, "SHOW transaction_isolation").await, [level]);
        c.batch_execute("COMMIT").await.unwrap();
    }
    // Per transaction: reset at its end.
    assert_eq!(
        column(&c, "SHOW transaction_isolation").await,
        ["read committed"]
    );
    // SET TRANSACTION: before any query only; outside a block only a warning.
    c.batch_execute("BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        .await
        .unwrap();
    assert_eq!(
        column(&c, "SHOW transaction_isolation").await,
        ["serializable"]
    );
    c.batch_execute("SELECT 1").await.unwrap();
    let e = c
        .batch_execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "25001");
    c.batch_execute("ROLLBACK").await.unwrap();
    c.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        .await
        .unwrap();
    assert_eq!(
        column(&c, "SHOW transaction_isolation").await,
        ["read committed"]
    );
    // Session defaults.
    c.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    assert_eq!(
        column(
            &c,
            "SHOW default_transaction_isolation; SHOW transaction_isolation"
        )
        .await,
        ["repeatable read", "repeatable read"]
    );
    c.batch_execute("SET default_transaction_isolation = 'read committed'")
        .await
        .unwrap();
    let e = c
        .batch_execute("SET default_transaction_isolation = 'sometimes'")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "22023");

    // Read-only transactions refuse writes with PostgreSQL's words.
    c.batch_execute("BEGIN READ ONLY").await.unwrap();
    assert_eq!(column(&c, "SHOW transaction_read_only").await, ["on"]);
    assert_eq!(column(&c, "SELECT count(*) FROM t").await, ["0"]);
    let e = c
        .batch_execute("INSERT INTO t VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "25006");
    assert_eq!(
        message(&e),
        "cannot execute INSERT in a read-only transaction"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(column(&c, "SHOW transaction_read_only").await, ["off"]);
    c.batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    for (sql, tag) in [
        ("UPDATE t SET id = 2", "UPDATE"),
        ("DELETE FROM t", "DELETE"),
        ("CREATE TABLE u (id int)", "CREATE TABLE"),
    ] {
        let e = c.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&e), "25006", "{sql}");
        assert_eq!(
            message(&e),
            format!("cannot execute {tag} in a read-only transaction")
        );
    }
    c.batch_execute("BEGIN READ WRITE; INSERT INTO t VALUES (1); COMMIT")
        .await
        .unwrap();
    c.batch_execute("SET default_transaction_read_only = off")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(column(&c, "SELECT count(*) FROM t").await, ["2"]);
}

#[tokio::test]
async fn command_tags_and_warnings_are_postgresqls() {
    let server = Server::start();
    let mut raw = Raw::connect(&server);
    let tags = |raw: &mut Raw, sql: &str| raw.tags(sql);
    assert_eq!(
        tags(
            &mut raw,
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3)"
        ),
        ["CREATE TABLE", "INSERT 0 3"]
    );
    assert_eq!(
        tags(
            &mut raw,
            "PREPARE q (int) AS SELECT id FROM t WHERE id >= $1"
        ),
        ["PREPARE"]
    );
    assert_eq!(tags(&mut raw, "EXECUTE q(2)"), ["SELECT 2"]);
    assert_eq!(
        tags(
            &mut raw,
            "PREPARE d AS DELETE FROM t WHERE id = $1; EXECUTE d(3)"
        ),
        ["PREPARE", "DELETE 1"]
    );
    assert_eq!(tags(&mut raw, "DEALLOCATE q"), ["DEALLOCATE"]);
    assert_eq!(tags(&mut raw, "DEALLOCATE ALL"), ["DEALLOCATE ALL"]);
    assert_eq!(
        tags(
            &mut raw,
            "BEGIN; DECLARE c SCROLL CURSOR FOR SELECT id FROM t ORDER BY id; FETCH 5 FROM c; MOVE BACKWARD ALL IN c; FETCH NEXT FROM c; CLOSE c; CLOSE ALL; COMMIT"
        ),
        [
            "BEGIN",
            "DECLARE CURSOR",
            "FETCH 2",
            "MOVE 2",
            "FETCH 1",
            "CLOSE CURSOR",
            "CLOSE CURSOR ALL",
            "COMMIT"
        ]
    );
    assert_eq!(
        tags(
            &mut raw,
            "START TRANSACTION READ ONLY; INSERT INTO t VALUES (9)"
        ),
        ["START TRANSACTION", "ERROR 25006"]
    );
    assert_eq!(tags(&mut raw, "ABORT"), ["ROLLBACK"]);
    assert_eq!(tags(&mut raw, "ROLLBACK"), ["WARNING 25P01", "ROLLBACK"]);
    assert_eq!(
        tags(&mut raw, "BEGIN; BEGIN; COMMIT"),
        ["BEGIN", "WARNING 25001", "BEGIN", "COMMIT"]
    );
    assert_eq!(
        tags(&mut raw, "SET TRANSACTION READ ONLY"),
        ["WARNING 25P01", "SET"]
    );
    // COMMIT in the implicit block: committed, with a warning, and a new block.
    assert_eq!(
        tags(
            &mut raw,
            "INSERT INTO t VALUES (4); COMMIT; INSERT INTO t VALUES (5)"
        ),
        ["INSERT 0 1", "WARNING 25P01", "COMMIT", "INSERT 0 1"]
    );
    assert_eq!(tags(&mut raw, "SELECT id FROM t ORDER BY id"), ["SELECT 4"]);
}

#[tokio::test]
async fn suspended_portals_wait_while_other_statements_run() {
    let server = Server::start();
    let mut c = connect(&server, "app").await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY); WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) INSERT INTO t SELECT n FROM s",
    )
    .await
    .unwrap();
    let tx = c.transaction().await.unwrap();
    let up = tx.prepare("SELECT id FROM t ORDER BY id").await.unwrap();
    let down = tx
        .prepare("SELECT id FROM t ORDER BY id DESC")
        .await
        .unwrap();
    let a = tx.bind(&up, &[]).await.unwrap();
    let b = tx.bind(&down, &[]).await.unwrap();
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    let (mut a_done, mut b_done) = (false, false);
    // Two portals read in turns, with other statements between them; each
    // is read until it returns fewer rows than asked, as clients do.
    while !(a_done && b_done) {
        if !a_done {
            let rows = tx.query_portal(&a, 700).await.unwrap();
            a_done = rows.len() < 700;
            seen_a.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        }
        if !b_done {
            let rows = tx.query_portal(&b, 1100).await.unwrap();
            b_done = rows.len() < 1100;
            seen_b.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
        }
        let n: i64 = tx
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 3000);
    }
    assert_eq!(seen_a, (1..=3000).collect::<Vec<_>>());
    assert_eq!(seen_b, (1..=3000).rev().collect::<Vec<_>>());
    tx.commit().await.unwrap();
}
