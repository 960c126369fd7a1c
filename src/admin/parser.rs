//! From a statement's text to the console command it names.
//!
//! The console takes whole words, case-insensitively, with an optional
//! final `;`: `show pools;` is `SHOW POOLS`. Anything else is a syntax
//! error (42601) that points at `SHOW HELP`.

use crate::frontend::errors::SYNTAX_ERROR;
use crate::state::Shared;

use super::pause::{Pause, Resume};
use super::reload::Reload;
use super::show_clients::ShowClients;
use super::show_config::ShowConfig;
use super::show_help::ShowHelp;
use super::show_pools::ShowPools;
use super::show_servers::ShowServers;
use super::show_stats::ShowStats;
use super::show_version::ShowVersion;
use super::shutdown::Shutdown;
use super::{AdminError, Command, Reply};

/// Every console command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AdminCommand {
    ShowHelp(ShowHelp),
    ShowVersion(ShowVersion),
    ShowConfig(ShowConfig),
    ShowPools(ShowPools),
    ShowStats(ShowStats),
    ShowClients(ShowClients),
    ShowServers(ShowServers),
    Pause(Pause),
    Resume(Resume),
    Reload(Reload),
    Shutdown(Shutdown),
}

/// The command `sql` names, or the console's syntax error.
pub(super) fn parse(sql: &str) -> Result<AdminCommand, AdminError> {
    let words: Vec<String> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    AdminCommand::parse(&words).ok_or_else(|| {
        AdminError::new(
            SYNTAX_ERROR,
            format!(
                "unknown admin console command: {:?}; SHOW HELP lists the commands",
                sql.trim()
            ),
        )
    })
}

impl Command for AdminCommand {
    fn parse(words: &[&str]) -> Option<Self> {
        use AdminCommand as C;
        None.or_else(|| ShowHelp::parse(words).map(C::ShowHelp))
            .or_else(|| ShowVersion::parse(words).map(C::ShowVersion))
            .or_else(|| ShowConfig::parse(words).map(C::ShowConfig))
            .or_else(|| ShowPools::parse(words).map(C::ShowPools))
            .or_else(|| ShowStats::parse(words).map(C::ShowStats))
            .or_else(|| ShowClients::parse(words).map(C::ShowClients))
            .or_else(|| ShowServers::parse(words).map(C::ShowServers))
            .or_else(|| Pause::parse(words).map(C::Pause))
            .or_else(|| Resume::parse(words).map(C::Resume))
            .or_else(|| Reload::parse(words).map(C::Reload))
            .or_else(|| Shutdown::parse(words).map(C::Shutdown))
    }

    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError> {
        match self {
            AdminCommand::ShowHelp(c) => c.execute(shared).await,
            AdminCommand::ShowVersion(c) => c.execute(shared).await,
            AdminCommand::ShowConfig(c) => c.execute(shared).await,
            AdminCommand::ShowPools(c) => c.execute(shared).await,
            AdminCommand::ShowStats(c) => c.execute(shared).await,
            AdminCommand::ShowClients(c) => c.execute(shared).await,
            AdminCommand::ShowServers(c) => c.execute(shared).await,
            AdminCommand::Pause(c) => c.execute(shared).await,
            AdminCommand::Resume(c) => c.execute(shared).await,
            AdminCommand::Reload(c) => c.execute(shared).await,
            AdminCommand::Shutdown(c) => c.execute(shared).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> AdminCommand {
        parse(sql).unwrap_or_else(|e| panic!("{sql:?}: {}", e.message))
    }

    #[test]
    fn every_command_parses() {
        use AdminCommand as C;
        let cases = [
            ("SHOW HELP", C::ShowHelp(ShowHelp)),
            ("SHOW VERSION", C::ShowVersion(ShowVersion)),
            ("SHOW CONFIG", C::ShowConfig(ShowConfig)),
            ("SHOW POOLS", C::ShowPools(ShowPools)),
            ("SHOW STATS", C::ShowStats(ShowStats)),
            ("SHOW CLIENTS", C::ShowClients(ShowClients)),
            ("SHOW SERVERS", C::ShowServers(ShowServers)),
            ("PAUSE", C::Pause(Pause)),
            ("RESUME", C::Resume(Resume)),
            ("RELOAD", C::Reload(Reload)),
            ("SHUTDOWN", C::Shutdown(Shutdown)),
        ];
        for (sql, command) in cases {
            assert_eq!(parsed(sql), command, "{sql}");
        }
    }

    #[test]
    fn case_spacing_and_a_final_semicolon_do_not_matter() {
        assert_eq!(parsed("show pools;"), AdminCommand::ShowPools(ShowPools));
        assert_eq!(
            parsed("  Show \t Clients  ;  "),
            AdminCommand::ShowClients(ShowClients)
        );
        assert_eq!(parsed("pause;"), AdminCommand::Pause(Pause));
    }

    #[test]
    fn an_unknown_command_is_a_syntax_error_pointing_at_help() {
        let e = parse(" SHOW LISTS; ").unwrap_err();
        assert_eq!(e.sqlstate, "42601");
        assert_eq!(
            e.message,
            "unknown admin console command: \"SHOW LISTS;\"; SHOW HELP lists the commands"
        );
    }

    #[test]
    fn partial_or_extended_commands_are_unknown() {
        for sql in [
            "",
            "SHOW",
            "POOLS",
            "SHOW POOLS EXTRA",
            "PAUSE app",
            "SELECT 1",
        ] {
            assert_eq!(parse(sql).unwrap_err().sqlstate, "42601", "{sql:?}");
        }
    }
}
