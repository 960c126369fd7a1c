//! Large results stream through with bounded memory on both protocols.

mod common;

use common::{Server, connect, peak_rss_during};
use futures::{StreamExt, pin_mut};

const ROWS: i64 = 2_000_000;
const QUERY: &str = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000000) SELECT n::int8 AS n, 'row number ' || n FROM s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_million_rows_stream_with_bounded_memory() {
    let server = Server::start();
    let c = connect(&server, "big").await;
    // Extended protocol (what drivers use), rows consumed as they arrive.
    let peak = peak_rss_during(&server, async {
        let stream = c.query_raw(QUERY, std::iter::empty::<i32>()).await.unwrap();
        pin_mut!(stream);
        let mut count = 0i64;
        let mut last = 0i64;
        while let Some(row) = stream.next().await {
            let row = row.unwrap();
            last = row.get::<_, i64>(0);
            count += 1;
        }
        assert_eq!((count, last), (ROWS, ROWS));
    })
    .await;
    eprintln!("extended protocol: peak server RSS {} MiB", peak >> 20);
    assert!(peak < 100 << 20, "peak RSS {peak} bytes");

    // Simple protocol: count rows from the message stream.
    let peak = peak_rss_during(&server, async {
        let stream = c.simple_query_raw(QUERY).await.unwrap();
        pin_mut!(stream);
        let mut count = 0i64;
        while let Some(m) = stream.next().await {
            if let tokio_postgres::SimpleQueryMessage::Row(_) = m.unwrap() {
                count += 1;
            }
        }
        assert_eq!(count, ROWS);
    })
    .await;
    eprintln!("simple protocol: peak server RSS {} MiB", peak >> 20);
    assert!(peak < 100 << 20, "peak RSS {peak} bytes");
}
