//! The admin console: the virtual database `iriswire`, as PgBouncer's
//! `pgbouncer` database. `SHOW` commands read the live registries; `PAUSE`,
//! `RESUME`, `RELOAD` and `SHUTDOWN` act on the server.
//!
//! Each command is a type implementing the `Command` trait, in a file of
//! its own; `parser` recognises one from a statement's words and [`run`]
//! executes it. A command answers a [`Reply`] (a table, or a command tag
//! with notices), which the session then writes out.
//!
//! Column names follow PgBouncer's where the concept is the same, so
//! existing tooling reads them. A bridge worker stands where PgBouncer has
//! a server connection:
//!
//! - `SHOW POOLS`: per (database, user), `cl_active` clients not waiting,
//!   `cl_waiting` clients waiting for a worker, `sv_active` workers checked
//!   out, `sv_idle` workers free, `pool_size` the most workers, `pool_mode`.
//! - `SHOW STATS`: per database, `total_*` counts since start (times in
//!   microseconds, traffic in bytes), `avg_*` per second since start (not
//!   over PgBouncer's `stats_period`), `avg_query_time` per query.
//! - `SHOW CLIENTS` (`type` C) and `SHOW SERVERS` (`type` S): one row per
//!   connection or worker; `link` pairs them (a client's worker pid, a
//!   worker's client id) and `remote_pid` is a worker's process id.
//! - `SHOW CONFIG`: every setting with where it came from and whether a
//!   `RELOAD` can change it; secrets are masked.

mod parser;
mod pause;
mod reload;
mod show_clients;
mod show_config;
mod show_help;
mod show_pools;
mod show_servers;
mod show_stats;
mod show_version;
mod shutdown;
pub mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use pgwire::api::Type;

use crate::pgtypes::datetime::civil_from_days;
use crate::state::Shared;

/// A result set of text values.
pub struct Table {
    pub columns: Vec<(&'static str, Type)>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// What a console command answers.
pub enum Reply {
    Table(Table),
    /// A command tag, with notices to send before it.
    Done {
        tag: String,
        notices: Vec<String>,
    },
}

impl Reply {
    /// A command tag alone.
    fn done(tag: &str) -> Reply {
        Reply::Done {
            tag: tag.into(),
            notices: Vec::new(),
        }
    }
}

/// A console command that failed, as SQLSTATE and message.
#[derive(Debug)]
pub struct AdminError {
    pub sqlstate: &'static str,
    pub message: String,
}

impl AdminError {
    fn new(sqlstate: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            sqlstate,
            message: message.into(),
        }
    }
}

/// One admin console command, as PgDog's admin commands: recognised from
/// the words of a statement, then run against the server's state.
trait Command: Sized {
    /// The command if `words` (upper-cased, without the final `;`) spell
    /// it, else `None`.
    fn parse(words: &[&str]) -> Option<Self>;

    /// Runs the command.
    async fn execute(&self, shared: &Shared) -> Result<Reply, AdminError>;
}

/// Runs one console command.
pub async fn run(shared: &Shared, sql: &str) -> Result<Reply, AdminError> {
    parser::parse(sql)?.execute(shared).await
}

fn int(n: impl Into<u64>) -> Option<String> {
    Some(n.into().to_string())
}

fn text(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

/// A wall-clock time as PgBouncer prints it, in UTC.
fn timestamp(t: SystemTime) -> Option<String> {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_utc_dates() {
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap(),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(timestamp(UNIX_EPOCH).unwrap(), "1970-01-01 00:00:00 UTC");
    }
}
