//! Pools of bridge workers, one per (database, user), on `deadpool`.
//!
//! A PostgreSQL database name selects the backend database: an IRIS
//! namespace, or on the embedded default a SQLite file under `--data-dir`,
//! created on first use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use thiserror::Error;

use crate::bridge::{BridgeError, Worker, WorkerSpec};
use crate::config::{BackendKind, Config};

pub type WorkerPool = managed::Pool<WorkerManager>;
pub type PooledWorker = managed::Object<WorkerManager>;

pub struct WorkerManager {
    spec: WorkerSpec,
    max_age: Duration,
    max_uses: u64,
}

impl managed::Manager for WorkerManager {
    type Type = Worker;
    type Error = BridgeError;

    async fn create(&self) -> Result<Worker, BridgeError> {
        crate::observability::metrics::Metrics::install()
            .worker_starts
            .increment(1);
        Worker::spawn(&self.spec).await
    }

    async fn recycle(&self, w: &mut Worker, m: &Metrics) -> RecycleResult<BridgeError> {
        let metrics = crate::observability::metrics::Metrics::install();
        if !w.is_healthy() {
            metrics.worker_exits_crash.increment(1);
            return Err(RecycleError::message(
                "worker is broken or was left mid-response",
            ));
        }
        if m.created.elapsed() > self.max_age || w.uses >= self.max_uses {
            metrics.worker_exits_recycle.increment(1);
            return Err(RecycleError::message(
                "worker reached its maximum age or use count",
            ));
        }
        if w.in_transaction {
            // A session ended inside a transaction: roll it back before reuse.
            w.start_query("ROLLBACK", false, |p| {
                p.tuple_header(0);
                Ok::<(), ()>(())
            })
            .await
            .map_err(RecycleError::Backend)?
            .ok();
            w.drain().await.map_err(RecycleError::Backend)?;
            if w.in_transaction {
                return Err(RecycleError::message("worker could not roll back"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Error)]
pub enum AcquireError {
    #[error("database \"{0}\" does not exist")]
    NoSuchDatabase(String),
    #[error(
        "no bridge worker for database \"{database}\" became free within {waited:?} (pool max_size {max_size})"
    )]
    Timeout {
        database: String,
        waited: Duration,
        max_size: usize,
    },
    #[error("could not start a bridge worker for database \"{database}\": {source}")]
    Start {
        database: String,
        source: Box<BridgeError>,
    },
    #[error("the worker pool is closed")]
    Closed,
}

impl AcquireError {
    pub fn sqlstate(&self) -> &str {
        match self {
            AcquireError::NoSuchDatabase(_) => "3D000",
            AcquireError::Timeout { .. } => "53300",
            AcquireError::Start { source, .. } if matches!(**source, BridgeError::Backend(_)) => {
                match &**source {
                    BridgeError::Backend(e) => &e.sqlstate,
                    _ => "08001",
                }
            }
            AcquireError::Start { .. } => "08001",
            AcquireError::Closed => "57P01",
        }
    }
}

/// All pools of this server, created on demand.
pub struct PoolRegistry {
    config: Arc<Config>,
    script: PathBuf,
    pools: Mutex<HashMap<(String, String), WorkerPool>>,
}

impl PoolRegistry {
    pub fn new(config: Arc<Config>, script: PathBuf) -> Self {
        PoolRegistry {
            config,
            script,
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Names that can reach the backend as a file name or namespace.
    fn valid_database(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !name.starts_with('-')
    }

    fn driver_config(&self, database: &str, user: &str) -> serde_json::Value {
        let c = &self.config;
        match c.backend {
            BackendKind::Sqlite => serde_json::json!({
                "driver": "sqlite",
                "database": c.database_path(database),
                "batch_rows": c.batch_rows,
                "database_name": database,
                "user": user,
                "pg_version": crate::frontend::session::SERVER_VERSION,
                "iriswire_version": env!("CARGO_PKG_VERSION"),
            }),
            BackendKind::IrisEmbedded => serde_json::json!({
                "driver": "iris-embedded",
                "namespace": database.to_ascii_uppercase(),
                "batch_rows": c.batch_rows,
            }),
            BackendKind::IrisNative => serde_json::json!({
                "driver": "iris-native",
                "host": c.iris.host,
                "port": c.iris.port,
                "namespace": database.to_ascii_uppercase(),
                "username": c.iris.username,
                "password": c.iris.password,
                "batch_rows": c.batch_rows,
            }),
        }
    }

    pub fn pool(&self, database: &str, user: &str) -> Result<WorkerPool, AcquireError> {
        if !Self::valid_database(database) {
            return Err(AcquireError::NoSuchDatabase(database.to_owned()));
        }
        let key = (database.to_owned(), user.to_owned());
        let mut pools = self.pools.lock().expect("pool registry lock");
        if let Some(p) = pools.get(&key) {
            return Ok(p.clone());
        }
        let c = &self.config;
        let manager = WorkerManager {
            spec: WorkerSpec {
                python: c.python.clone(),
                script: self.script.clone(),
                config_json: self.driver_config(database, user).to_string(),
                extra_env: Vec::new(),
                start_timeout: c.worker_start_timeout,
            },
            max_age: c.worker_max_age,
            max_uses: c.worker_max_uses,
        };
        let pool = WorkerPool::builder(manager)
            .max_size(c.pool_max_size)
            .wait_timeout(Some(c.pool_acquire_timeout))
            .create_timeout(Some(c.worker_start_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|_| AcquireError::Closed)?;
        pools.insert(key, pool.clone());
        if c.pool_min_size > 0 {
            // Start the minimum in the background; the first client need not wait.
            let (warm, n) = (pool.clone(), c.pool_min_size);
            tokio::spawn(async move {
                let mut held = Vec::with_capacity(n);
                for _ in 0..n {
                    match warm.get().await {
                        Ok(w) => held.push(w),
                        Err(_) => break,
                    }
                }
            });
        }
        Ok(pool)
    }

    /// Checks a worker out for `database`/`user`, waiting at most the
    /// configured acquire timeout.
    pub async fn acquire(&self, database: &str, user: &str) -> Result<PooledWorker, AcquireError> {
        let pool = self.pool(database, user)?;
        let metrics = crate::observability::metrics::Metrics::install();
        let started = std::time::Instant::now();
        let got = pool.get().await;
        metrics.pool_wait.record(started.elapsed().as_secs_f64());
        if matches!(got, Err(PoolError::Timeout(managed::TimeoutType::Wait))) {
            metrics.pool_wait_timeouts.increment(1);
        }
        got.map_err(|e| match e {
            PoolError::Timeout(managed::TimeoutType::Create) => AcquireError::Start {
                database: database.to_owned(),
                source: Box::new(BridgeError::Timeout(self.config.worker_start_timeout)),
            },
            PoolError::Timeout(_) => AcquireError::Timeout {
                database: database.to_owned(),
                waited: self.config.pool_acquire_timeout,
                max_size: self.config.pool_max_size,
            },
            PoolError::Backend(source) => AcquireError::Start {
                database: database.to_owned(),
                source: Box::new(source),
            },
            _ => AcquireError::Closed,
        })
    }

    /// Size, free and waiting counts of every pool, for `/health`.
    pub fn statuses(&self) -> Vec<((String, String), deadpool::Status)> {
        let pools = self.pools.lock().expect("pool registry lock");
        let mut out: Vec<_> = pools.iter().map(|(k, p)| (k.clone(), p.status())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Closes every pool; idle workers are dropped (and killed).
    pub fn close(&self) {
        for p in self.pools.lock().expect("pool registry lock").values() {
            p.close();
        }
    }
}
