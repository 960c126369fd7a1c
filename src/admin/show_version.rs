//! `SHOW VERSION`: this server's name and version, one row.

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowVersion;

impl Command for ShowVersion {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "VERSION"]).then_some(ShowVersion)
    }

    async fn execute(&self, _: &Shared) -> Result<Reply, AdminError> {
        Ok(Reply::Table(Table {
            columns: vec![("version", Type::TEXT)],
            rows: vec![vec![Some(format!(
                "iriswire {}",
                env!("CARGO_PKG_VERSION")
            ))]],
        }))
    }
}
