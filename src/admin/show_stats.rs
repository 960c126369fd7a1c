//! `SHOW STATS`: traffic per database, as PgBouncer's. `total_*` are counts
//! since the server started: transactions, queries, bytes received and
//! sent, and microseconds spent running queries and waiting for a worker.
//! `avg_*` divide the counts by the seconds since start (PgBouncer averages
//! over its last `stats_period` instead); `avg_query_time` is microseconds
//! per query.

use std::sync::atomic::Ordering;

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table, int, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowStats;

impl Command for ShowStats {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "STATS"]).then_some(ShowStats)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        let up = shared.clients.started.elapsed().as_secs().max(1);
        let rows = shared
            .clients
            .stats()
            .into_iter()
            .map(|(db, st, (rx, tx))| {
                let q = st.queries.load(Ordering::Relaxed);
                let x = st.transactions.load(Ordering::Relaxed);
                let qt = st.query_time_us.load(Ordering::Relaxed);
                let wt = st.wait_time_us.load(Ordering::Relaxed);
                vec![
                    text(db),
                    int(x),
                    int(q),
                    int(rx),
                    int(tx),
                    int(qt),
                    int(wt),
                    int(x / up),
                    int(q / up),
                    int(rx / up),
                    int(tx / up),
                    int(qt.checked_div(q).unwrap_or(0)),
                ]
            })
            .collect();
        Ok(Reply::Table(Table {
            columns: vec![
                ("database", Type::TEXT),
                ("total_xact_count", Type::INT8),
                ("total_query_count", Type::INT8),
                ("total_received", Type::INT8),
                ("total_sent", Type::INT8),
                ("total_query_time", Type::INT8),
                ("total_wait_time", Type::INT8),
                ("avg_xact_count", Type::INT8),
                ("avg_query_count", Type::INT8),
                ("avg_recv", Type::INT8),
                ("avg_sent", Type::INT8),
                ("avg_query_time", Type::INT8),
            ],
            rows,
        }))
    }
}
