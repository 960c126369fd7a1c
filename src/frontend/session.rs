//! Per-connection state and the statements iriswire answers itself
//! (`SET`, `SHOW`, `RESET`): run-time parameters live in the session, as in
//! PostgreSQL, and never reach the backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;

use super::cursors::Cursors;
use super::txn_modes::{Isolation, TxnModes, TxnState};
use crate::config::Config;
use crate::pool::PooledWorker;
use crate::state::clients::{Client, DbStats};

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

pub use crate::config::SERVER_VERSION;

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
        ("transaction_deferrable", "off"),
        ("default_transaction_deferrable", "off"),
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
    /// Values `SET LOCAL` replaced, restored when the transaction ends.
    pub local_saved: Vec<(String, Option<String>)>,
    /// Defaults `RESET` returns to: PostgreSQL's, then the server's config.
    pub defaults: BTreeMap<String, String>,
    /// `statement_timeout`, parsed once per `SET`; zero is off.
    pub statement_timeout: Duration,
    /// `lock_timeout` in milliseconds (0: wait until cancelled, which
    /// `statement_timeout` then bounds, as in PostgreSQL, where a lock wait
    /// is part of the statement).
    pub lock_wait_ms: u32,
    /// The connection this session belongs to.
    pub client: Option<Arc<Client>>,
    /// This database's totals for `SHOW STATS`.
    pub stats: Option<Arc<DbStats>>,
    /// Transaction characteristics and the implicit block of a
    /// multi-statement Query.
    pub txn: TxnState,
    /// Cursors opened with `DECLARE`.
    pub cursors: Cursors,
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
            local_saved: Vec::new(),
            defaults: default_settings(),
            statement_timeout: Duration::ZERO,
            lock_wait_ms: 0,
            client: None,
            stats: None,
            txn: TxnState::default(),
            cursors: Cursors::default(),
        }
    }

    /// Hands the worker back to its pool (or drops a broken one).
    pub fn release_worker(&mut self) {
        self.worker = None;
        if let Some(c) = &self.client {
            c.worker_pid.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Server-wide defaults from the configuration, as PostgreSQL takes
    /// `statement_timeout` and friends from postgresql.conf.
    pub fn with_config_defaults(mut self, config: &Config) -> Self {
        for (name, value) in [
            ("statement_timeout", config.server.statement_timeout),
            (
                "idle_in_transaction_session_timeout",
                config.server.idle_in_transaction_session_timeout,
            ),
        ] {
            let v = format_duration(value);
            self.defaults.insert(name.to_owned(), v.clone());
            self.settings.insert(name.to_owned(), v);
        }
        self.statement_timeout = config.server.statement_timeout;
        self.apply_timeouts();
        self
    }

    /// Checks and normalises a value before `SET` stores it; returns the
    /// value as `SHOW` prints it.
    pub fn check_setting(name: &str, value: &str) -> Result<String, String> {
        match name {
            "statement_timeout" | "idle_in_transaction_session_timeout" | "lock_timeout" => {
                parse_duration(value)
                    .map(format_duration)
                    .ok_or_else(|| format!("invalid value for parameter \"{name}\": \"{value}\""))
            }
            "default_transaction_isolation" | "transaction_isolation" => Isolation::parse(value)
                .map(|i| i.name().to_owned())
                .ok_or_else(|| format!("invalid value for parameter \"{name}\": \"{value}\"")),
            "default_transaction_read_only"
            | "transaction_read_only"
            | "default_transaction_deferrable"
            | "transaction_deferrable" => crate::pgtypes::input::parse_bool(value)
                .map(|b| if b { "on" } else { "off" }.to_owned())
                .ok_or_else(|| format!("parameter \"{name}\" requires a Boolean value")),
            _ => Ok(value.to_owned()),
        }
    }

    pub fn set(&mut self, name: &str, value: String, local: bool) {
        let old = self.settings.insert(name.to_owned(), value);
        if local && !self.local_saved.iter().any(|(n, _)| n == name) {
            self.local_saved.push((name.to_owned(), old));
        }
        self.apply_timeouts();
    }

    pub fn reset(&mut self, name: Option<&str>) {
        match name {
            Some(n) => match self.defaults.get(n) {
                Some(v) => {
                    self.settings.insert(n.to_owned(), v.clone());
                }
                None => {
                    self.settings.remove(n);
                }
            },
            None => self.settings = self.defaults.clone(),
        }
        self.apply_timeouts();
    }

    /// The transaction characteristics a new transaction starts with.
    pub(crate) fn default_modes(&self) -> TxnModes {
        TxnModes::defaults(&self.settings)
    }

    /// The transaction ended: `SET LOCAL` values expire, and so do the
    /// transaction's characteristics.
    pub fn end_transaction(&mut self) {
        self.txn.implicit_begun = false;
        self.txn.queried = false;
        self.txn.modes = self.default_modes();
        if self.local_saved.is_empty() {
            return;
        }
        for (name, old) in std::mem::take(&mut self.local_saved) {
            match old {
                Some(v) => self.settings.insert(name, v),
                None => self.settings.remove(&name),
            };
        }
        self.apply_timeouts();
    }

    fn apply_timeouts(&mut self) {
        let get = |n: &str| {
            self.settings
                .get(n)
                .and_then(|v| parse_duration(v))
                .unwrap_or(Duration::ZERO)
        };
        self.statement_timeout = get("statement_timeout");
        let lock_timeout = get("lock_timeout");
        // Under a millisecond still limits the wait; it does not lift it.
        self.lock_wait_ms = match lock_timeout.as_millis() {
            0 if !lock_timeout.is_zero() => 1,
            ms => u32::try_from(ms).unwrap_or(u32::MAX),
        };
        let idle_in_txn = get("idle_in_transaction_session_timeout");
        if let Some(c) = &self.client {
            c.set_idle_in_transaction_timeout(idle_in_txn);
        }
    }
}

/// A PostgreSQL time setting: a number of milliseconds, or a number with
/// one of the units `us`, `ms`, `s`, `min`, `h`, `d`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = (v[..split].trim(), v[split..].trim());
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let ms = match unit {
        "" | "ms" => n,
        "us" => n / 1000.0,
        "s" => n * 1e3,
        "min" => n * 60e3,
        "h" => n * 3600e3,
        "d" => n * 86400e3,
        _ => return None,
    };
    // PostgreSQL's limit for these settings: INT_MAX milliseconds.
    (ms <= i32::MAX as f64).then(|| Duration::from_micros((ms * 1000.0).round() as u64))
}

/// How `SHOW` prints a time setting: the largest unit that divides it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms == 0 {
        return "0".into();
    }
    for (unit, per) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
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

/// A parsed `SET`, `RESET` or `SHOW`.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCommand {
    Set {
        name: String,
        value: String,
        /// `SET LOCAL`: until the end of the transaction.
        local: bool,
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
            let mut local = false;
            for prefix in ["session ", "local "] {
                if rest.to_ascii_lowercase().starts_with(prefix) {
                    rest = rest[prefix.len()..].trim_start();
                    local = prefix == "local ";
                }
            }
            let rl = rest.to_ascii_lowercase();
            if let Some(v) = rl.strip_prefix("time zone") {
                let v = &rest[rest.len() - v.len()..];
                return Some(SessionCommand::Set {
                    name: "timezone".into(),
                    value: unquote(v),
                    local,
                });
            }
            if let Some(v) = rl.strip_prefix("names") {
                let v = &rest[rest.len() - v.len()..];
                return Some(SessionCommand::Set {
                    name: "client_encoding".into(),
                    value: unquote(v),
                    local,
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
                local,
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
    fn time_settings_parse_and_print_as_postgresql_does() {
        assert_eq!(parse_duration("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 1 min"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(format_duration(Duration::from_millis(1000)), "1s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2min");
        assert_eq!(format_duration(Duration::ZERO), "0");
        assert!(Session::check_setting("statement_timeout", "soon").is_err());
    }

    #[test]
    fn set_local_expires_with_the_transaction() {
        let mut s = Session::new("d".into(), "u".into());
        s.set("statement_timeout", "1s".into(), false);
        s.set("statement_timeout", "50ms".into(), true);
        assert_eq!(s.statement_timeout, Duration::from_millis(50));
        s.end_transaction();
        assert_eq!(s.statement_timeout, Duration::from_secs(1));
        s.reset(Some("statement_timeout"));
        assert_eq!(s.statement_timeout, Duration::ZERO);
    }

    #[test]
    fn parses_driver_set_and_show_forms() {
        assert_eq!(
            parse_session_command("SET extra_float_digits = 3"),
            Some(SessionCommand::Set {
                name: "extra_float_digits".into(),
                value: "3".into(),
                local: false
            })
        );
        assert_eq!(
            parse_session_command("set application_name to 'my app'"),
            Some(SessionCommand::Set {
                name: "application_name".into(),
                value: "my app".into(),
                local: false
            })
        );
        assert_eq!(
            parse_session_command("SET TIME ZONE 'UTC'"),
            Some(SessionCommand::Set {
                name: "timezone".into(),
                value: "UTC".into(),
                local: false
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
            parse_session_command("SET LOCAL statement_timeout = '2s'"),
            Some(SessionCommand::Set {
                name: "statement_timeout".into(),
                value: "2s".into(),
                local: true
            })
        );
        assert_eq!(
            parse_session_command("RESET ALL"),
            Some(SessionCommand::Reset { name: None })
        );
    }
}
