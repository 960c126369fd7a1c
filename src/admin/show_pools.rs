//! `SHOW POOLS`: one row per (database, user) pool, as PgBouncer's:
//! `cl_active` clients of the pool not waiting for a worker, `cl_waiting`
//! those waiting, `sv_active` workers checked out, `sv_idle` workers free,
//! `pool_size` the most workers the pool may hold, and `pool_mode`. The
//! health check's own pool is left out.

use pgwire::api::Type;

use crate::config::PoolMode;
use crate::state::Shared;
use crate::state::clients::ClientState;

use super::{AdminError, Command, Reply, Table, int, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowPools;

impl Command for ShowPools {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "POOLS"]).then_some(ShowPools)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        let cfg = shared.config();
        let clients = shared.clients.list();
        let mode = match cfg.pool.mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let rows = shared
            .pools
            .statuses()
            .into_iter()
            .filter(|((_, user), _)| user != "iriswire-health")
            .map(|((database, user), st)| {
                let mine: Vec<_> = clients
                    .iter()
                    .filter(|c| {
                        c.identity()
                            .is_some_and(|i| i.database == database && i.user == user)
                    })
                    .collect();
                let waiting = mine
                    .iter()
                    .filter(|c| c.state() == ClientState::Waiting)
                    .count();
                let active = mine.len() - waiting;
                let idle = st.available;
                let busy = st.size.saturating_sub(st.available);
                vec![
                    text(database),
                    text(user),
                    int(active as u64),
                    int(waiting as u64),
                    int(busy as u64),
                    int(idle as u64),
                    int(st.max_size as u64),
                    text(mode),
                ]
            })
            .collect();
        Ok(Reply::Table(Table {
            columns: vec![
                ("database", Type::TEXT),
                ("user", Type::TEXT),
                ("cl_active", Type::INT8),
                ("cl_waiting", Type::INT8),
                ("sv_active", Type::INT8),
                ("sv_idle", Type::INT8),
                ("pool_size", Type::INT8),
                ("pool_mode", Type::TEXT),
            ],
            rows,
        }))
    }
}
