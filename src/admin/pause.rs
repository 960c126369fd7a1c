//! `PAUSE` and `RESUME`: hold new statements back, and let them go.
//!
//! As PgBouncer's `PAUSE`, it returns once running statements and open
//! transactions are done; statements and transactions that start meanwhile
//! wait at their start until `RESUME`.

use crate::frontend::errors::OBJECT_NOT_IN_PREREQUISITE_STATE;
use std::time::Duration;

use crate::state::Shared;
use crate::state::clients::ClientState;

use super::{AdminError, Command, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pause;

impl Command for Pause {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["PAUSE"]).then_some(Pause)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        shared.lifecycle.set_paused(true);
        // Admin sessions are not waited for: this one is among them.
        while shared.clients.list().iter().any(|c| {
            c.identity().is_some_and(|i| !i.admin)
                && matches!(
                    c.state(),
                    ClientState::Active | ClientState::IdleInTransaction
                )
        }) {
            // A RESUME from another session ends the wait.
            if !shared.lifecycle.is_paused() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Reply::done("PAUSE"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resume;

impl Command for Resume {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["RESUME"]).then_some(Resume)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        if !shared.lifecycle.is_paused() {
            return Err(AdminError::new(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "the server is not paused",
            ));
        }
        shared.lifecycle.set_paused(false);
        Ok(Reply::done("RESUME"))
    }
}
