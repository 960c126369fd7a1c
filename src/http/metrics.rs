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
    m.pool_max_workers.set(max as f64);
    m.exposition()
}
