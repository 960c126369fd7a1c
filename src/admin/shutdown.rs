//! `SHUTDOWN`: drains and stops the server, as SIGTERM does.

use crate::state::Shared;

use super::{AdminError, Command, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shutdown;

impl Command for Shutdown {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHUTDOWN"]).then_some(Shutdown)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        shared.lifecycle.request_shutdown();
        Ok(Reply::done("SHUTDOWN"))
    }
}
