//! `SHOW CONFIG`: every setting in force, with where its value came from
//! (default, file, environment, flag) and whether `RELOAD` can change it,
//! where PgBouncer shows `default` and `changeable`.

use pgwire::api::Type;

use crate::state::Shared;

use super::{AdminError, Command, Reply, Table, text};

/// Secrets are never shown.
const SECRET_KEYS: &[&str] = &["iris.password"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShowConfig;

impl Command for ShowConfig {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["SHOW", "CONFIG"]).then_some(ShowConfig)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        let cfg = shared.config();
        let rows = cfg
            .settings
            .iter()
            .map(|(key, (value, source))| {
                let shown = if SECRET_KEYS.contains(&key.as_str()) && !value.is_empty() {
                    "********".to_owned()
                } else {
                    value.clone()
                };
                let changeable = if crate::config::RESTART_KEYS.contains(&key.as_str()) {
                    "no"
                } else {
                    "yes"
                };
                vec![text(key), text(shown), text(source), text(changeable)]
            })
            .collect();
        Ok(Reply::Table(Table {
            columns: vec![
                ("key", Type::TEXT),
                ("value", Type::TEXT),
                ("source", Type::TEXT),
                ("changeable", Type::TEXT),
            ],
            rows,
        }))
    }
}
