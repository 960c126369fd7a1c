//! `/metrics`: what the recorder holds, plus the gauges that are cheaper to
//! read at scrape time than to keep current (pool occupancy, kernel byte
//! counters of every socket), as PgDog's `stats/` pulls from its pools.

use crate::state::Shared;
use crate::telemetry::Metrics;

/// The exposition text: the recorder's metrics, pool gauges read now,
/// and the standard `process_*` metrics from /proc.
pub fn render(shared: &Shared) -> String {
    let m = Metrics::install();
    let pools = &shared.pools;
    let config = shared.config();
    let max_per_pool = config.pool.max_size;
    m.max_client_connections
        .set(config.server.max_client_connections as f64);
    // Kernel counters of every socket, read here rather than per message.
    let (rx, tx) = shared.clients.bytes();
    m.bytes_received.absolute(rx);
    m.bytes_sent.absolute(tx);
    let (mut idle, mut busy, mut waiting, mut max) = (0, 0, 0, 0);
    for (_, st) in pools.statuses() {
        idle += st.available;
        busy += st.size - st.available.min(st.size);
        waiting += st.waiting;
        max += max_per_pool;
    }
    // A slot being created counts in the pool's size; report it as starting.
    let starting = pools.starting();
    busy = busy.saturating_sub(starting);
    m.pool_workers_idle.set(idle as f64);
    m.pool_workers_busy.set(busy as f64);
    m.pool_clients_waiting.set(waiting as f64);
    m.pool_max_workers
        .set(max.min(config.pool.max_total_workers) as f64);
    match m.exposition() {
        Some(mut text) => {
            process_metrics(&mut text);
            text
        }
        None => String::new(),
    }
}

/// `process_cpu_seconds_total` (a float counter, which the `metrics` crate
/// cannot express), `process_resident_memory_bytes` and `process_open_fds`,
/// named as Prometheus' client libraries name them.
fn process_metrics(out: &mut String) {
    use std::fmt::Write;
    let hz = 100.0; // USER_HZ, fixed at 100 on Linux
    let page = 4096.0;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let cpu = (field(11) + field(12)) / hz;
        let rss = field(21) * page;
        let _ = write!(
            out,
            "# HELP process_cpu_seconds_total User and system CPU time of the iriswire process.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}\n\
             # HELP process_resident_memory_bytes Resident memory of the iriswire process.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}\n"
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let _ = write!(
            out,
            "# HELP process_open_fds Open file descriptors of the iriswire process.\n\
             # TYPE process_open_fds gauge\nprocess_open_fds {}\n",
            fds.count()
        );
    }
}
