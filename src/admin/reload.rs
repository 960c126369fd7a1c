//! `RELOAD`: re-reads the configuration, as SIGHUP does. Settings that only
//! take effect after a restart are named in warnings; a configuration that
//! does not load changes nothing.

use crate::frontend::errors::CONFIG_FILE_ERROR;
use crate::state::Shared;

use super::{AdminError, Command, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reload;

impl Command for Reload {
    fn parse(words: &[&str]) -> Option<Self> {
        matches!(words, ["RELOAD"]).then_some(Reload)
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        match crate::state::reload::reload(shared, &shared.config_source) {
            Ok(r) => Ok(Reply::Done {
                tag: "RELOAD".into(),
                notices: r
                    .needs_restart
                    .iter()
                    .map(|k| format!("{k} changed; the new value takes effect after a restart"))
                    .chain(r.tls_error.iter().map(|e| {
                        format!("TLS certificate not reloaded, the previous one stays: {e}")
                    }))
                    .collect(),
            }),
            Err(e) => Err(AdminError::new(
                CONFIG_FILE_ERROR,
                format!("configuration not reloaded, nothing changed: {e}"),
            )),
        }
    }
}
