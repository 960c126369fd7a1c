//! Latency percentiles under load, measured per query with a monotonic
//! clock (pgbench's per-transaction log reuses timestamps and records 0 µs
//! for fast servers, so it cannot give a fair p50/p99 at this scale).
//!
//!     cargo bench --bench latency -- PORT CLIENTS SECONDS MODE SQL
//!
//! MODE: simple (Query message), extended (unnamed statement, one round
//! trip: Parse/Bind/Execute/Sync), prepared (named statement prepared once).
//! Prints `tps p50_ms p99_ms`. Used by benches/load.sh.

use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [port, clients, seconds, mode, sql] = &args[..] else {
        eprintln!("usage: latency PORT CLIENTS SECONDS simple|extended|prepared SQL");
        std::process::exit(2);
    };
    let clients: usize = clients.parse().expect("CLIENTS");
    let run_for = Duration::from_secs_f64(seconds.parse().expect("SECONDS"));
    let conninfo = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, conn) = tokio_postgres::connect(&conninfo, NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let (mode, sql) = (mode.clone(), sql.clone());
        tasks.push(tokio::spawn(async move {
            let prepared = client.prepare(&sql).await.expect("prepare");
            let mut latencies = Vec::with_capacity(1 << 16);
            let deadline = Instant::now() + run_for;
            while Instant::now() < deadline {
                let start = Instant::now();
                match mode.as_str() {
                    "simple" => drop(client.simple_query(&sql).await.expect("query")),
                    "extended" => drop(client.query_typed(&sql, &[]).await.expect("query")),
                    "prepared" => drop(client.query(&prepared, &[]).await.expect("query")),
                    other => panic!("unknown mode {other}"),
                }
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    // current_thread: clients share one core like pgbench's single process.
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort_unstable();
    let pick =
        |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{:.1} {:.3} {:.3}",
        all.len() as f64 / run_for.as_secs_f64(),
        pick(0.5),
        pick(0.99)
    );
}
