//! Per-connection state and the statements iriswire answers itself
//! (`SET`, `SHOW`, `RESET`): run-time parameters live in the session, as in
//! PostgreSQL, and never reach the backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;

use crate::pool::PooledWorker;

/// Parameters PostgreSQL reports to the client with ParameterStatus.
pub const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "integer_datetimes",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "in_hot_standby",
    "default_transaction_read_only",
    "search_path",
];

pub const SERVER_VERSION: &str = "16.6";

/// Defaults of the parameters `SHOW` knows; names are stored lower-case.
pub fn default_settings() -> BTreeMap<String, String> {
    [
        ("application_name", ""),
        ("client_encoding", "UTF8"),
        ("datestyle", "ISO, MDY"),
        ("intervalstyle", "postgres"),
        ("timezone", "UTC"),
        ("integer_datetimes", "on"),
        ("is_superuser", "off"),
        ("server_encoding", "UTF8"),
        ("server_version", SERVER_VERSION),
        ("server_version_num", "160006"),
        ("standard_conforming_strings", "on"),
        ("in_hot_standby", "off"),
        ("default_transaction_read_only", "off"),
        ("transaction_isolation", "read committed"),
        ("default_transaction_isolation", "read committed"),
        ("transaction_read_only", "off"),
        ("extra_float_digits", "1"),
        ("search_path", "\"$user\", public"),
        ("statement_timeout", "0"),
        ("lock_timeout", "0"),
        ("idle_in_transaction_session_timeout", "0"),
        ("max_identifier_length", "63"),
        ("bytea_output", "hex"),
        ("client_min_messages", "notice"),
        ("max_connections", "1000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The suspended result of an extended-protocol portal: the worker is still
/// answering, the client asked for more rows later.
pub struct ActivePortal {
    pub name: String,
    /// A copy of the batch that was cut short, and how many of its rows were sent.
    pub pending: Option<(Vec<u8>, usize)>,
    pub rows_sent: usize,
}

pub struct Session {
    pub database: String,
    pub user: String,
    pub worker: Option<PooledWorker>,
    /// PostgreSQL's aborted-transaction state: only ROLLBACK/COMMIT is accepted.
    pub failed: bool,
    pub settings: BTreeMap<String, String>,
    pub active: Option<ActivePortal>,
    /// Named prepared statements, for `DEALLOCATE ALL` and `DISCARD ALL`.
    pub statement_names: std::collections::HashSet<String>,
    /// Reused DataRow buffer: rows are split off it, so it is reclaimed
    /// once the encoder has copied them to the socket buffer.
    pub scratch: BytesMut,
}

impl Session {
    pub fn new(database: String, user: String) -> Self {
        Session {
            database,
            user,
            worker: None,
            failed: false,
            settings: default_settings(),
            active: None,
            statement_names: Default::default(),
            scratch: BytesMut::with_capacity(16 * 1024),
        }
    }
}

/// Lives in pgwire's per-connection extensions. The session is taken out
/// for the duration of a message and put back, so no lock is held across
/// an await.
#[derive(Default)]
pub struct SessionSlot(pub Mutex<Option<Session>>);

impl SessionSlot {
    pub fn take(&self) -> Option<Session> {
        self.0.lock().expect("session slot").take()
    }
    pub fn put(&self, s: Session) {
        *self.0.lock().expect("session slot") = Some(s);
    }
}

pub type SharedSlot = Arc<SessionSlot>;

/// A parsed `SET`, `RESET` or `SHOW`.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCommand {
    Set {
        name: String,
        value: String,
    },
    /// `SET TRANSACTION ...`, `SET SESSION CHARACTERISTICS ...`: accepted, no effect.
    SetIgnored,
    Reset {
        name: Option<String>,
    },
    Show {
        name: String,
    },
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].to_owned()
    } else {
        v.to_owned()
    }
}

/// Parses the session commands PostgreSQL drivers send.
pub fn parse_session_command(sql: &str) -> Option<SessionCommand> {
    let s = sql.trim().trim_end_matches(';').trim();
    let lower = s.to_ascii_lowercase();
    let mut words = lower.split_whitespace();
    match words.next()? {
        "show" => {
            let name = s[4..].trim();
            Some(SessionCommand::Show {
                name: unquote(name).to_ascii_lowercase().replace(' ', ""),
            })
        }
        "reset" => {
            let name = s[5..].trim().to_ascii_lowercase();
            Some(SessionCommand::Reset {
                name: (name != "all").then_some(name),
            })
        }
        "set" => {
            let mut rest = s[3..].trim_start();
            let rl = rest.to_ascii_lowercase();
            if rl.starts_with("transaction") || rl.starts_with("session characteristics") {
                return Some(SessionCommand::SetIgnored);
            }
            for prefix in ["session ", "local "] {
                if rest.to_ascii_lowercase().starts_with(prefix) {
                    rest = rest[prefix.len()..].trim_start();
                }
            }
            let rl = rest.to_ascii_lowercase();
            if let Some(v) = rl.strip_prefix("time zone") {
                let v = &rest[rest.len() - v.len()..];
                return Some(SessionCommand::Set {
                    name: "timezone".into(),
                    value: unquote(v),
                });
            }
            if let Some(v) = rl.strip_prefix("names") {
                let v = &rest[rest.len() - v.len()..];
                return Some(SessionCommand::Set {
                    name: "client_encoding".into(),
                    value: unquote(v),
                });
            }
            let split = rest.find('=').or_else(|| rl.find(" to "))?;
            let name = rest[..split].trim().to_ascii_lowercase();
            let value_start = if rest.as_bytes()[split] == b'=' {
                split + 1
            } else {
                split + 4
            };
            let value = rest[value_start..]
                .split(',')
                .map(unquote)
                .collect::<Vec<_>>()
                .join(", ");
            Some(SessionCommand::Set {
                name: unquote(&name),
                value,
            })
        }
        _ => None,
    }
}

/// The spelling PostgreSQL uses in ParameterStatus for a reported parameter.
pub fn reported_name(lower: &str) -> Option<&'static str> {
    REPORTED
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(lower))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_driver_set_and_show_forms() {
        assert_eq!(
            parse_session_command("SET extra_float_digits = 3"),
            Some(SessionCommand::Set {
                name: "extra_float_digits".into(),
                value: "3".into()
            })
        );
        assert_eq!(
            parse_session_command("set application_name to 'my app'"),
            Some(SessionCommand::Set {
                name: "application_name".into(),
                value: "my app".into()
            })
        );
        assert_eq!(
            parse_session_command("SET TIME ZONE 'UTC'"),
            Some(SessionCommand::Set {
                name: "timezone".into(),
                value: "UTC".into()
            })
        );
        assert_eq!(
            parse_session_command(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"
            ),
            Some(SessionCommand::SetIgnored)
        );
        assert_eq!(
            parse_session_command("show transaction isolation level"),
            Some(SessionCommand::Show {
                name: "transactionisolationlevel".into()
            })
        );
        assert_eq!(
            parse_session_command("RESET ALL"),
            Some(SessionCommand::Reset { name: None })
        );
    }
}
