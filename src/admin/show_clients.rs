//! `SHOW CLIENTS`: one row per client connection (`type` C), with its
//! state, address, connect time, id, and in `link` the pid of the worker
//! it holds, if any (PgBouncer links to the server connection).

use std::sync::atomic::Ordering;

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table, int, text, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowClients;

impl Command for ShowClients {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "CLIENTS"]).then_some(ShowClients)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        let rows = shared
            .clients
            .list()
            .into_iter()
            .map(|c| {
                let id = c.identity();
                let worker = c.worker_pid.load(Ordering::Relaxed);
                vec![
                    text("C"),
                    text(id.map(|i| i.user.clone()).unwrap_or_default()),
                    text(id.map(|i| i.database.clone()).unwrap_or_default()),
                    text(c.state().label()),
                    text(c.peer.ip().to_string()),
                    int(c.peer.port()),
                    timestamp(c.connected_at),
                    int(c.id),
                    (worker != 0).then(|| worker.to_string()),
                    text(id.map(|i| i.application_name.clone()).unwrap_or_default()),
                ]
            })
            .collect();
        Ok(Reply::Table(Table {
            columns: vec![
                ("type", Type::TEXT),
                ("user", Type::TEXT),
                ("database", Type::TEXT),
                ("state", Type::TEXT),
                ("addr", Type::TEXT),
                ("port", Type::INT8),
                ("connect_time", Type::TEXT),
                ("id", Type::INT8),
                ("link", Type::TEXT),
                ("application_name", Type::TEXT),
            ],
            rows,
        }))
    }
}
