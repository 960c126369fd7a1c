//! The admin console: the virtual database `iriswire`, as PgBouncer's
//! `pgbouncer` database. `SHOW` commands read the live registries; `PAUSE`,
//! `RESUME`, `RELOAD` and `SHUTDOWN` act on the server. Column names follow
//! PgBouncer's where the concept is the same, so existing tooling reads them.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pgwire::api::Type;

use crate::pgtypes::datetime::civil_from_days;
use crate::state::Shared;
use crate::state::clients::ClientState;

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

/// A console command that failed, as SQLSTATE and message.
#[derive(Debug)]
pub struct AdminError {
    pub sqlstate: &'static str,
    pub message: String,
}

fn err(sqlstate: &'static str, message: impl Into<String>) -> AdminError {
    AdminError {
        sqlstate,
        message: message.into(),
    }
}

/// Runs one console command.
pub async fn run(shared: &Shared, sql: &str) -> Result<Reply, AdminError> {
    let words: Vec<String> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["SHOW", "HELP"] => Ok(Reply::Table(help())),
        ["SHOW", "VERSION"] => Ok(Reply::Table(Table {
            columns: vec![("version", Type::TEXT)],
            rows: vec![vec![Some(format!(
                "iriswire {}",
                env!("CARGO_PKG_VERSION")
            ))]],
        })),
        ["SHOW", "CONFIG"] => Ok(Reply::Table(config(shared))),
        ["SHOW", "POOLS"] => Ok(Reply::Table(pools(shared))),
        ["SHOW", "STATS"] => Ok(Reply::Table(stats(shared))),
        ["SHOW", "CLIENTS"] => Ok(Reply::Table(clients(shared))),
        ["SHOW", "SERVERS"] => Ok(Reply::Table(servers(shared))),
        ["PAUSE"] => {
            shared.lifecycle.set_paused(true);
            // As PgBouncer: returns once running statements and open
            // transactions are done; new ones wait at their start.
            while shared.clients.list().iter().any(|c| {
                c.identity().is_some_and(|i| !i.admin)
                    && matches!(
                        c.state(),
                        ClientState::Active | ClientState::IdleInTransaction
                    )
            }) {
                if !shared.lifecycle.is_paused() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(done("PAUSE"))
        }
        ["RESUME"] => {
            if !shared.lifecycle.is_paused() {
                return Err(err("55000", "the server is not paused"));
            }
            shared.lifecycle.set_paused(false);
            Ok(done("RESUME"))
        }
        ["RELOAD"] => match crate::state::reload::reload(shared, &shared.config_source) {
            Ok(r) => Ok(Reply::Done {
                tag: "RELOAD".into(),
                notices: r
                    .needs_restart
                    .iter()
                    .map(|k| format!("{k} changed; the new value takes effect after a restart"))
                    .collect(),
            }),
            Err(e) => Err(err(
                "F0000",
                format!("configuration not reloaded, nothing changed: {e}"),
            )),
        },
        ["SHUTDOWN"] => {
            shared.lifecycle.request_shutdown();
            Ok(done("SHUTDOWN"))
        }
        _ => Err(err(
            "42601",
            format!(
                "unknown admin console command: {:?}; SHOW HELP lists the commands",
                sql.trim()
            ),
        )),
    }
}

fn done(tag: &str) -> Reply {
    Reply::Done {
        tag: tag.into(),
        notices: Vec::new(),
    }
}

fn help() -> Table {
    let rows = [
        "SHOW HELP|VERSION|CONFIG|POOLS|STATS|CLIENTS|SERVERS",
        "PAUSE: wait for running statements and transactions, hold new ones",
        "RESUME: let held statements run",
        "RELOAD: re-read the configuration file and environment",
        "SHUTDOWN: drain and stop, as SIGTERM",
    ];
    Table {
        columns: vec![("command", Type::TEXT)],
        rows: rows.iter().map(|r| vec![Some((*r).to_owned())]).collect(),
    }
}

fn int(n: impl Into<u64>) -> Option<String> {
    Some(n.into().to_string())
}

fn text(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

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

/// Secrets are never shown.
const SECRET_KEYS: &[&str] = &["iris.password"];

fn config(shared: &Shared) -> Table {
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
    Table {
        columns: vec![
            ("key", Type::TEXT),
            ("value", Type::TEXT),
            ("source", Type::TEXT),
            ("changeable", Type::TEXT),
        ],
        rows,
    }
}

fn pools(shared: &Shared) -> Table {
    let cfg = shared.config();
    let clients = shared.clients.list();
    let mode = match cfg.pool.mode {
        crate::config::PoolMode::Session => "session",
        crate::config::PoolMode::Transaction => "transaction",
    };
    let rows = shared
        .pools
        .statuses()
        .into_iter()
        .filter(|((_, user), _)| user != "iriswire-health")
        .map(|((database, user), st)| {
            let mine: Vec<_> = clients
                .iter()
                .filter(|c| {
                    c.identity()
                        .is_some_and(|i| i.database == database && i.user == user)
                })
                .collect();
            let waiting = mine
                .iter()
                .filter(|c| c.state() == ClientState::Waiting)
                .count();
            let active = mine.len() - waiting;
            let idle = st.available;
            let busy = st.size.saturating_sub(st.available);
            vec![
                text(database),
                text(user),
                int(active as u64),
                int(waiting as u64),
                int(busy as u64),
                int(idle as u64),
                int(st.max_size as u64),
                text(mode),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("database", Type::TEXT),
            ("user", Type::TEXT),
            ("cl_active", Type::INT8),
            ("cl_waiting", Type::INT8),
            ("sv_active", Type::INT8),
            ("sv_idle", Type::INT8),
            ("pool_size", Type::INT8),
            ("pool_mode", Type::TEXT),
        ],
        rows,
    }
}

fn stats(shared: &Shared) -> Table {
    let up = shared.clients.started.elapsed().as_secs().max(1);
    let rows = shared
        .clients
        .stats()
        .into_iter()
        .map(|(db, st, (rx, tx))| {
            let q = st.queries.load(Ordering::Relaxed);
            let x = st.transactions.load(Ordering::Relaxed);
            let qt = st.query_time_us.load(Ordering::Relaxed);
            let wt = st.wait_time_us.load(Ordering::Relaxed);
            vec![
                text(db),
                int(x),
                int(q),
                int(rx),
                int(tx),
                int(qt),
                int(wt),
                int(x / up),
                int(q / up),
                int(rx / up),
                int(tx / up),
                int(qt.checked_div(q).unwrap_or(0)),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("database", Type::TEXT),
            ("total_xact_count", Type::INT8),
            ("total_query_count", Type::INT8),
            ("total_received", Type::INT8),
            ("total_sent", Type::INT8),
            ("total_query_time", Type::INT8),
            ("total_wait_time", Type::INT8),
            ("avg_xact_count", Type::INT8),
            ("avg_query_count", Type::INT8),
            ("avg_recv", Type::INT8),
            ("avg_sent", Type::INT8),
            ("avg_query_time", Type::INT8),
        ],
        rows,
    }
}

fn clients(shared: &Shared) -> Table {
    let rows = shared
        .clients
        .list()
        .into_iter()
        .map(|c| {
            let id = c.identity();
            let worker = c.worker_pid.load(Ordering::Relaxed);
            vec![
                text("C"),
                text(id.map(|i| i.user.clone()).unwrap_or_default()),
                text(id.map(|i| i.database.clone()).unwrap_or_default()),
                text(c.state().label()),
                text(c.peer.ip().to_string()),
                int(c.peer.port()),
                timestamp(c.connected_at),
                int(c.id),
                (worker != 0).then(|| worker.to_string()),
                text(id.map(|i| i.application_name.clone()).unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("type", Type::TEXT),
            ("user", Type::TEXT),
            ("database", Type::TEXT),
            ("state", Type::TEXT),
            ("addr", Type::TEXT),
            ("port", Type::INT8),
            ("connect_time", Type::TEXT),
            ("id", Type::INT8),
            ("link", Type::TEXT),
            ("application_name", Type::TEXT),
        ],
        rows,
    }
}

fn servers(shared: &Shared) -> Table {
    let linked: Vec<(u32, u64)> = shared
        .clients
        .list()
        .iter()
        .map(|c| (c.worker_pid.load(Ordering::Relaxed), c.id))
        .filter(|(pid, _)| *pid != 0)
        .collect();
    let rows = shared
        .pools
        .workers()
        .into_iter()
        .map(|w| {
            let client = linked.iter().find(|(pid, _)| *pid == w.pid).map(|l| l.1);
            vec![
                text("S"),
                text(w.user),
                text(w.database),
                text(if client.is_some() { "active" } else { "idle" }),
                timestamp(w.started),
                int(w.pid),
                client.map(|c| c.to_string()),
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("type", Type::TEXT),
            ("user", Type::TEXT),
            ("database", Type::TEXT),
            ("state", Type::TEXT),
            ("connect_time", Type::TEXT),
            ("remote_pid", Type::INT8),
            ("link", Type::TEXT),
        ],
        rows,
    }
}

#[cfg(test)]
mod tests {
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
