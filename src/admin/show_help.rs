//! `SHOW HELP`: the commands the console knows.

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowHelp;

impl Command for ShowHelp {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "HELP"]).then_some(ShowHelp)
    }

    async fn execute(&self, _: &Shared) -> Result<Reply, AdminError> {
        let rows = [
            "SHOW HELP|VERSION|CONFIG|POOLS|STATS|CLIENTS|SERVERS",
            "PAUSE: wait for running statements and transactions, hold new ones",
            "RESUME: let held statements run",
            "RELOAD: re-read the configuration file and environment",
            "SHUTDOWN: drain and stop, as SIGTERM",
        ];
        Ok(Reply::Table(Table {
            columns: vec![("command", Type::TEXT)],
            rows: rows.iter().map(|r| vec![Some((*r).to_owned())]).collect(),
        }))
    }
}
