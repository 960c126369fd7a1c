//! The pools of this server, one per (database, user), created on first
//! use; and what the rest of the server asks of them: a worker
//! ([`PoolRegistry::acquire`]), their occupancy, a resize on reload, and
//! shutdown.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use deadpool::Runtime;
use deadpool::managed::{self, PoolError, Timeouts};

use crate::bridge::{BridgeError, DriverConfig, WorkerConfig, WorkerSpec};
use crate::config::{BackendKind, Config};

use super::breaker::Breaker;
use super::capacity::{PoolMap, WorkerBudget, spawn_idle_reaper};
use super::manager::{CrashLog, WorkerList};
use super::{AcquireError, PooledWorker, WorkerInfo, WorkerManager, WorkerPool};

/// All pools of this server, created on demand.
pub struct PoolRegistry {
    config: Arc<ArcSwap<Config>>,
    script: PathBuf,
    pools: PoolMap,
    budget: Arc<WorkerBudget>,
    /// Set once the idle reaper runs (started with the first pool, inside
    /// the runtime).
    reaper: std::sync::Once,
    starting: Arc<AtomicUsize>,
    breaker: Arc<Breaker>,
    workers: WorkerList,
    crashes: Arc<CrashLog>,
}

impl PoolRegistry {
    pub(crate) fn new(config: Arc<ArcSwap<Config>>, script: PathBuf) -> Self {
        let pools: PoolMap = Arc::new(Mutex::new(HashMap::new()));
        let budget = Arc::new(WorkerBudget::new(
            config.load().pool.max_total_workers,
            &pools,
        ));
        PoolRegistry {
            config,
            script,
            pools,
            budget,
            reaper: std::sync::Once::new(),
            starting: Arc::new(AtomicUsize::new(0)),
            breaker: Arc::new(Breaker::default()),
            workers: Default::default(),
            crashes: Default::default(),
        }
    }

    /// Live workers, by pid.
    pub(crate) fn workers(&self) -> Vec<WorkerInfo> {
        self.workers
            .lock()
            .expect("worker list")
            .values()
            .cloned()
            .collect()
    }

    /// Whether new worker starts are being held back, and why.
    pub fn circuit(&self) -> Option<String> {
        self.breaker.check().err().map(|e| e.to_string())
    }

    /// Worker starts in progress in all pools.
    pub(crate) fn starting(&self) -> usize {
        self.starting.load(Ordering::Relaxed)
    }

    /// Applies a reloaded configuration to the pools that exist.
    pub(crate) fn apply_config(&self) {
        self.budget
            .resize(self.config.load().pool.max_total_workers);
        let max = self.config.load().pool.max_size;
        for p in self.pools.lock().expect("pool registry lock").values() {
            p.resize(max);
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

    fn driver_config(&self, database: &str, user: &str) -> WorkerConfig {
        let c = self.config.load();
        let driver = match c.backend {
            BackendKind::Sqlite => DriverConfig::Sqlite {
                database: c.database_path(database),
                database_name: database.to_owned(),
                user: user.to_owned(),
                pg_version: crate::config::SERVER_VERSION.to_owned(),
                iriswire_version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            BackendKind::IrisEmbedded => DriverConfig::IrisEmbedded {
                namespace: database.to_ascii_uppercase(),
                username: c.iris.username.clone(),
                password: c.iris.password.clone(),
            },
            BackendKind::IrisNative => DriverConfig::IrisNative {
                host: c.iris.host.clone(),
                port: c.iris.port,
                namespace: database.to_ascii_uppercase(),
                username: c.iris.username.clone(),
                password: c.iris.password.clone(),
            },
        };
        WorkerConfig {
            driver,
            batch_rows: c.bridge.batch_rows,
        }
    }

    /// The pool of `database`/`user`, created (and warmed to
    /// `pool.min_size` in the background) on first use.
    pub(crate) fn pool(&self, database: &str, user: &str) -> Result<WorkerPool, AcquireError> {
        if !Self::valid_database(database) {
            return Err(AcquireError::NoSuchDatabase(database.to_owned()));
        }
        let key = (database.to_owned(), user.to_owned());
        let mut pools = self.pools.lock().expect("pool registry lock");
        if let Some(p) = pools.get(&key) {
            return Ok(p.clone());
        }
        let c = self.config.load();
        if c.backend == BackendKind::Sqlite
            && !c.may_create_databases()
            && !c.database_path(database).exists()
        {
            return Err(AcquireError::NoSuchDatabase(database.to_owned()));
        }
        let manager = WorkerManager {
            spec: WorkerSpec {
                python: c.bridge.python.clone(),
                script: self.script.clone(),
                config_json: self.driver_config(database, user).to_json(),
                // Credentials travel in the start-up frame, never the environment.
                extra_env: Vec::new(),
                start_timeout: c.bridge.start_timeout,
            },
            config: self.config.clone(),
            starting: self.starting.clone(),
            key: key.clone(),
            workers: self.workers.clone(),
            budget: self.budget.clone(),
            crashes: self.crashes.clone(),
        };
        let pool = WorkerPool::builder(manager)
            .max_size(c.pool.max_size)
            .wait_timeout(Some(c.pool.acquire_timeout))
            .create_timeout(Some(c.bridge.start_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|_| AcquireError::Closed)?;
        pools.insert(key, pool.clone());
        self.reaper
            .call_once(|| spawn_idle_reaper(&self.pools, self.config.clone()));
        if c.pool.min_size > 0 {
            // Start the minimum in the background; the first client need not wait.
            let (warm, n) = (pool.clone(), c.pool.min_size);
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
    /// configured acquire timeout; fails at once while the circuit is open.
    pub(crate) async fn acquire(
        &self,
        database: &str,
        user: &str,
    ) -> Result<PooledWorker, AcquireError> {
        let pool = self.pool(database, user)?;
        self.breaker.check()?;
        let cfg = self.config.load_full();
        let metrics = crate::telemetry::Metrics::install();
        let started = Instant::now();
        let got = pool.timeout_get(&timeouts(&cfg)).await;
        metrics.pool_wait.record(started.elapsed().as_secs_f64());
        if matches!(got, Err(PoolError::Timeout(managed::TimeoutType::Wait))) {
            metrics.pool_wait_timeouts.increment(1);
        }
        let got = got.map_err(|e| match e {
            PoolError::Timeout(managed::TimeoutType::Create) => AcquireError::Start {
                database: database.to_owned(),
                source: Box::new(BridgeError::Timeout(cfg.bridge.start_timeout)),
            },
            PoolError::Timeout(_) => AcquireError::Timeout {
                database: database.to_owned(),
                user: user.to_owned(),
                waited: cfg.pool.acquire_timeout,
                max_size: cfg.pool.max_size,
            },
            PoolError::Backend(source) => AcquireError::Start {
                database: database.to_owned(),
                source: Box::new(source),
            },
            _ => AcquireError::Closed,
        });
        match &got {
            Ok(_) => self.breaker.success(),
            Err(e) if e.is_outage() => {
                let backoff = self.breaker.failure(e.to_string(), &cfg);
                self.schedule_retry(pool.clone(), backoff);
            }
            Err(_) => {}
        }
        got
    }

    /// One background start attempt per backoff, so the circuit closes
    /// when the backend returns even if no client asks.
    fn schedule_retry(&self, pool: WorkerPool, backoff: Duration) {
        RetryHandle {
            breaker: self.breaker.clone(),
            pool,
            config: self.config.clone(),
        }
        .spawn(backoff);
    }

    /// Size, free and waiting counts of every pool, for `/health`.
    pub(crate) fn statuses(&self) -> Vec<((String, String), deadpool::Status)> {
        let pools = self.pools.lock().expect("pool registry lock");
        let mut out: Vec<_> = pools.iter().map(|(k, p)| (k.clone(), p.status())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Closes every pool: idle workers roll back and exit within `grace`
    /// (then are killed); workers still checked out are killed when their
    /// session lets go of them.
    pub(crate) async fn shutdown(&self, grace: Duration) {
        let pools: Vec<WorkerPool> = self
            .pools
            .lock()
            .expect("pool registry lock")
            .values()
            .cloned()
            .collect();
        let mut stopping = Vec::new();
        for p in pools {
            let removed = p.retain(|_, _| false).removed;
            p.close();
            for w in removed {
                crate::telemetry::Metrics::install()
                    .worker_exits_shutdown
                    .increment(1);
                stopping.push(w.terminate(grace));
            }
        }
        futures::future::join_all(stopping).await;
    }
}

/// The waits of the configuration in force (a reload changes them).
fn timeouts(cfg: &Config) -> Timeouts {
    Timeouts {
        wait: Some(cfg.pool.acquire_timeout),
        create: Some(cfg.bridge.start_timeout),
        recycle: None,
    }
}

/// The background retry, re-armed while the backend stays away.
struct RetryHandle {
    breaker: Arc<Breaker>,
    pool: WorkerPool,
    config: Arc<ArcSwap<Config>>,
}

impl RetryHandle {
    fn spawn(self, backoff: Duration) {
        if !self.breaker.claim_retry() {
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(backoff).await;
            self.breaker.retry_started();
            let cfg = self.config.load_full();
            match self.pool.timeout_get(&timeouts(&cfg)).await {
                Ok(_) => self.breaker.success(),
                Err(e) => {
                    let backoff = self.breaker.failure(e.to_string(), &cfg);
                    self.spawn(backoff);
                }
            }
        });
    }
}
