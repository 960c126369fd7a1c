//! The HTTP side of the process: liveness, readiness with a real backend
//! probe, and a JSON summary. Served on `--http-listen` by the same runtime.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::state::Shared;

/// Process-wide state the probes read.
pub struct Health {
    pub shared: Arc<Shared>,
    pub started: Instant,
    /// Last readiness verdict, reused for `health.cache_ms` so probes do not load IRIS.
    last_ready: Mutex<Option<(Instant, Result<(), ReadyFailure>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyFailure {
    pub check: &'static str,
    pub reason: String,
}

impl Health {
    pub fn new(shared: Arc<Shared>) -> Self {
        Health {
            shared,
            started: Instant::now(),
            last_ready: Mutex::new(None),
        }
    }

    /// Readiness: not draining, the PostgreSQL listener accepts, and a bridge
    /// worker runs a probe statement against the backend in time.
    pub async fn ready(&self) -> Result<(), ReadyFailure> {
        if self.draining() {
            return Err(ReadyFailure {
                check: "draining",
                reason: "the server is shutting down".into(),
            });
        }
        let cfg = self.shared.config();
        if let Some((at, verdict)) = self.last_ready.lock().expect("health lock").as_ref()
            && at.elapsed() < cfg.health.cache
        {
            return verdict.clone();
        }
        let started = Instant::now();
        let verdict = match tokio::time::timeout(cfg.health.probe_timeout, self.probe()).await {
            Ok(v) => v,
            Err(_) => Err(ReadyFailure {
                check: "backend",
                reason: format!("probe did not finish within {:?}", cfg.health.probe_timeout),
            }),
        };
        let metrics = crate::telemetry::Metrics::install();
        metrics
            .backend_probe_duration
            .record(started.elapsed().as_secs_f64());
        // A refused listener or a draining server says nothing about the backend.
        match &verdict {
            Ok(()) => metrics.backend_up.set(1.0),
            Err(f) if f.check == "backend" => metrics.backend_up.set(0.0),
            Err(_) => {}
        }
        *self.last_ready.lock().expect("health lock") = Some((Instant::now(), verdict.clone()));
        verdict
    }

    /// Shutting down (or shut down): readiness is red from the first signal.
    pub fn draining(&self) -> bool {
        self.shared.lifecycle.phase() != crate::state::Phase::Running
    }

    async fn probe(&self) -> Result<(), ReadyFailure> {
        let cfg = self.shared.config();
        let mut target = cfg.listen;
        if target.ip().is_unspecified() {
            target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        tokio::net::TcpStream::connect(target)
            .await
            .map_err(|e| ReadyFailure {
                check: "listener",
                reason: format!("{target}: {e}"),
            })?;
        let fail = |reason: String| ReadyFailure {
            check: "backend",
            reason,
        };
        let mut worker = self
            .shared
            .pools
            .acquire(probe_database(&cfg), "iriswire-health")
            .await
            .map_err(|e| fail(e.to_string()))?;
        worker
            .start_query("SELECT 1", false, |w| {
                w.tuple_header(0);
                Ok::<(), ()>(())
            })
            .await
            .map_err(|e| fail(e.to_string()))?
            .ok();
        loop {
            match worker.next_frame().await.map_err(|e| fail(e.to_string()))? {
                crate::bridge::Frame::Complete { .. } => return Ok(()),
                crate::bridge::Frame::Error(e) => return Err(fail(e.to_string())),
                _ => {}
            }
        }
    }

    pub(crate) fn summary(&self) -> serde_json::Value {
        let cfg = self.shared.config();
        let clients = self.shared.clients.list();
        let mut by_state = serde_json::Map::new();
        for state in crate::state::clients::ClientState::ALL {
            let n = clients.iter().filter(|c| c.state() == state).count();
            by_state.insert(state.label().into(), n.into());
        }
        let pools: Vec<serde_json::Value> = self
            .shared
            .pools
            .statuses()
            .into_iter()
            .map(|((database, user), st)| {
                serde_json::json!({
                    "database": database, "user": user, "size": st.size,
                    "available": st.available, "waiting": st.waiting, "max_size": st.max_size,
                })
            })
            .collect();
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": self.started.elapsed().as_secs(),
            "backend": cfg.backend.as_str(),
            "pool_mode": match cfg.pool.mode {
                crate::config::PoolMode::Session => "session",
                crate::config::PoolMode::Transaction => "transaction",
            },
            "draining": self.draining(),
            "connections": clients.len(),
            "connections_by_state": by_state,
            "pools": pools,
        })
    }
}

/// The database the readiness probe opens. On IRIS a database is a
/// namespace: the default `postgres` would ask for a POSTGRES namespace,
/// which usually does not exist, so the configured `iris.namespace` is
/// probed unless `health.probe_database` was set to something else.
fn probe_database(cfg: &crate::config::Config) -> &str {
    let iris = cfg.backend != crate::config::BackendKind::Sqlite;
    if iris && cfg.health.probe_database == "postgres" {
        &cfg.iris.namespace
    } else {
        &cfg.health.probe_database
    }
}

#[cfg(test)]
mod tests {
    use super::probe_database;
    use crate::config::{Config, Overrides};
    use std::io::Write;

    fn config(toml: &str) -> Config {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(toml.as_bytes()).unwrap();
        Config::load_from(Some(file.path()), &[], &Overrides::default()).unwrap()
    }

    #[test]
    fn the_probe_opens_the_namespace_on_iris_unless_told_otherwise() {
        let iris = "backend = \"iris-native\"\n[iris]\nhost = \"h\"\nnamespace = \"APP\"\n";
        assert_eq!(probe_database(&config(iris)), "APP");
        let chosen = format!("{iris}[health]\nprobe_database = \"other\"\n");
        assert_eq!(probe_database(&config(&chosen)), "other");
        assert_eq!(probe_database(&config("")), "postgres");
    }
}
