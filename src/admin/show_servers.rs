//! `SHOW SERVERS`: one row per live bridge worker (`type` S), where
//! PgBouncer lists server connections: `active` while a client holds it
//! (that client's id in `link`), else `idle`; `remote_pid` is the worker's
//! process id.

use std::sync::atomic::Ordering;

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table, int, text, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowServers;

impl Command for ShowServers {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "SERVERS"]).then_some(ShowServers)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        // (worker pid, client id) of every client holding a worker.
        let linked: Vec<(u32, u64)> = shared
            .clients
            .list()
            .iter()
            .map(|c| (c.worker_pid.load(Ordering::Relaxed), c.id))
            .filter(|(pid, _)| *pid != 0)
            .collect();
        let rows = shared
            .pools
            .workers()
            .into_iter()
            .map(|w| {
                let client = linked.iter().find(|(pid, _)| *pid == w.pid).map(|l| l.1);
                vec![
                    text("S"),
                    text(w.user),
                    text(w.database),
                    text(if client.is_some() { "active" } else { "idle" }),
                    timestamp(w.started),
                    int(w.pid),
                    client.map(|c| c.to_string()),
                ]
            })
            .collect();
        Ok(Reply::Table(Table {
            columns: vec![
                ("type", Type::TEXT),
                ("user", Type::TEXT),
                ("database", Type::TEXT),
                ("state", Type::TEXT),
                ("connect_time", Type::TEXT),
                ("remote_pid", Type::INT8),
                ("link", Type::TEXT),
            ],
            rows,
        }))
    }
}
