//! Pools of bridge workers, one per (database, user), on `deadpool`.
//!
//! A PostgreSQL database name selects the backend database: an IRIS
//! namespace, or on the embedded default a SQLite file under `--data-dir`,
//! created on first use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use deadpool::Runtime;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, Timeouts};
use thiserror::Error;

use crate::bridge::{BridgeError, DriverConfig, Worker, WorkerConfig, WorkerSpec};
use crate::config::{BackendKind, Config};

pub type WorkerPool = managed::Pool<WorkerManager>;
pub type PooledWorker = managed::Object<WorkerManager>;

/// A live worker, for the admin console's `SHOW SERVERS`.
#[derive(Debug, Clone)]
pub struct WorkerInfo {
    pub pid: u32,
    pub database: String,
    pub user: String,
    pub started: std::time::SystemTime,
}

/// Every live worker of the process, by pid.
pub type WorkerList = Arc<Mutex<std::collections::BTreeMap<u32, WorkerInfo>>>;

/// Removes a worker from the list when the worker is dropped.
struct Registration {
    list: WorkerList,
    pid: u32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.list.lock().expect("worker list").remove(&self.pid);
    }
}

/// Recent worker crashes, to tell a crash loop from a one-off.
#[derive(Default)]
pub struct CrashLog {
    recent: Mutex<(std::collections::VecDeque<Instant>, Option<Instant>)>,
}

impl CrashLog {
    const WINDOW: Duration = Duration::from_secs(60);
    const LOOP: usize = 5;

    fn record(&self) {
        let now = Instant::now();
        let mut g = self.recent.lock().expect("crash log");
        let (recent, reported) = &mut *g;
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Self::WINDOW)
        {
            recent.pop_front();
        }
        // One error line per window, not one per crash.
        if recent.len() >= Self::LOOP
            && reported.is_none_or(|r| now.duration_since(r) > Self::WINDOW)
        {
            *reported = Some(now);
            tracing::error!(
                crashes = recent.len(),
                window_s = Self::WINDOW.as_secs(),
                "bridge workers are crashing in a loop; see the worker log lines and the backend's health"
            );
        }
    }
}

pub struct WorkerManager {
    spec: WorkerSpec,
    crashes: Arc<CrashLog>,
    database: String,
    user: String,
    workers: WorkerList,
    /// Read at each recycle, so a reload changes ages and use counts.
    config: Arc<ArcSwap<Config>>,
    starting: Arc<AtomicUsize>,
}

/// Counts a worker start in progress, on every exit path.
struct Starting<'a>(&'a AtomicUsize);

impl<'a> Starting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::Metrics::install()
            .pool_workers_starting
            .increment(1.0);
        Starting(n)
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        crate::telemetry::Metrics::install()
            .pool_workers_starting
            .decrement(1.0);
    }
}

impl managed::Manager for WorkerManager {
    type Type = Worker;
    type Error = BridgeError;

    async fn create(&self) -> Result<Worker, BridgeError> {
        crate::telemetry::Metrics::install()
            .worker_starts
            .increment(1);
        let _starting = Starting::new(&self.starting);
        let mut w = Worker::spawn(&self.spec).await?;
        let pid = w.pid();
        self.workers.lock().expect("worker list").insert(
            pid,
            WorkerInfo {
                pid,
                database: self.database.clone(),
                user: self.user.clone(),
                started: std::time::SystemTime::now(),
            },
        );
        w.registration = Some(Box::new(Registration {
            list: self.workers.clone(),
            pid,
        }));
        Ok(w)
    }

    async fn recycle(&self, w: &mut Worker, m: &Metrics) -> RecycleResult<BridgeError> {
        let metrics = crate::telemetry::Metrics::install();
        if !w.is_healthy() {
            if crate::bridge::worker::take_killed(w.pid()) {
                // Killed on purpose after a timeout; counted as such then.
                return Err(RecycleError::message("worker was killed after a timeout"));
            }
            metrics.worker_exits_crash.increment(1);
            self.crashes.record();
            return Err(RecycleError::message(
                "worker is broken or was left mid-response",
            ));
        }
        let cfg = self.config.load();
        if m.created.elapsed() > cfg.pool.worker_max_age || w.uses >= cfg.pool.worker_max_uses {
            metrics.worker_exits_recycle.increment(1);
            return Err(RecycleError::message(
                "worker reached its maximum age or use count",
            ));
        }
        if w.largest_request > cfg.bridge.recycle_after_statement_bytes {
            metrics.worker_exits_recycle.increment(1);
            return Err(RecycleError::message(
                "worker ran a statement above bridge.recycle_after_statement_bytes",
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
        "no bridge worker of the pool for database \"{database}\", user \"{user}\" became free within {waited:?} (pool.max_size {max_size}, pool.acquire_timeout_ms)"
    )]
    Timeout {
        database: String,
        user: String,
        waited: Duration,
        max_size: usize,
    },
    #[error("could not start a bridge worker for database \"{database}\": {source}")]
    Start {
        database: String,
        source: Box<BridgeError>,
    },
    #[error(
        "the backend is unavailable: {reason} (worker starts are paused; next attempt in {retry_in_ms} ms)"
    )]
    Unavailable { reason: String, retry_in_ms: u64 },
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
            AcquireError::Start { .. } | AcquireError::Unavailable { .. } => "08001",
            AcquireError::Closed => "57P01",
        }
    }
}

/// Worker starts failing in a row open this circuit: for a backoff that
/// doubles up to `bridge.retry_max_ms`, sessions get 08001 at once instead
/// of each waiting out a start timeout, and one background attempt per
/// backoff finds out when the backend is back.
#[derive(Default)]
struct Breaker {
    state: Mutex<BreakerState>,
    retry_scheduled: AtomicBool,
}

#[derive(Default)]
struct BreakerState {
    failures: u32,
    backoff: Duration,
    open_until: Option<Instant>,
    reason: String,
}

impl Breaker {
    fn check(&self) -> Result<(), AcquireError> {
        let st = self.state.lock().expect("breaker lock");
        match st.open_until {
            Some(until) if until > Instant::now() => Err(AcquireError::Unavailable {
                reason: st.reason.clone(),
                retry_in_ms: until.saturating_duration_since(Instant::now()).as_millis() as u64,
            }),
            _ => Ok(()),
        }
    }

    /// Returns the backoff now in force.
    fn failure(&self, reason: String, cfg: &Config) -> Duration {
        let mut st = self.state.lock().expect("breaker lock");
        st.failures += 1;
        st.backoff = if st.failures == 1 {
            cfg.bridge.retry_initial
        } else {
            (st.backoff * 2).min(cfg.bridge.retry_max)
        };
        st.open_until = Some(Instant::now() + st.backoff);
        st.reason = reason;
        crate::telemetry::Metrics::install()
            .backend_circuit_open
            .set(1.0);
        tracing::warn!(
            failures = st.failures,
            retry_in_ms = st.backoff.as_millis() as u64,
            reason = %st.reason,
            "bridge workers cannot start; holding new starts back"
        );
        st.backoff
    }

    fn success(&self) {
        let mut st = self.state.lock().expect("breaker lock");
        if st.failures > 0 {
            tracing::info!(
                after_failures = st.failures,
                "bridge workers start again; backend available"
            );
            *st = BreakerState::default();
            crate::telemetry::Metrics::install()
                .backend_circuit_open
                .set(0.0);
        }
    }
}

/// All pools of this server, created on demand.
pub struct PoolRegistry {
    config: Arc<ArcSwap<Config>>,
    script: PathBuf,
    pools: Mutex<HashMap<(String, String), WorkerPool>>,
    starting: Arc<AtomicUsize>,
    breaker: Arc<Breaker>,
    workers: WorkerList,
    crashes: Arc<CrashLog>,
}

impl PoolRegistry {
    pub fn new(config: Arc<ArcSwap<Config>>, script: PathBuf) -> Self {
        PoolRegistry {
            config,
            script,
            pools: Mutex::new(HashMap::new()),
            starting: Arc::new(AtomicUsize::new(0)),
            breaker: Arc::new(Breaker::default()),
            workers: Default::default(),
            crashes: Default::default(),
        }
    }

    /// Live workers, by pid.
    pub fn workers(&self) -> Vec<WorkerInfo> {
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
    pub fn starting(&self) -> usize {
        self.starting.load(Ordering::Relaxed)
    }

    /// Applies a reloaded configuration to the pools that exist.
    pub fn apply_config(&self) {
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

    pub fn pool(&self, database: &str, user: &str) -> Result<WorkerPool, AcquireError> {
        if !Self::valid_database(database) {
            return Err(AcquireError::NoSuchDatabase(database.to_owned()));
        }
        let key = (database.to_owned(), user.to_owned());
        let mut pools = self.pools.lock().expect("pool registry lock");
        if let Some(p) = pools.get(&key) {
            return Ok(p.clone());
        }
        let c = self.config.load();
        let manager = WorkerManager {
            spec: WorkerSpec {
                python: c.bridge.python.clone(),
                script: self.script.clone(),
                config_json: self.driver_config(database, user).to_json(),
                extra_env: Vec::new(),
                start_timeout: c.bridge.start_timeout,
            },
            config: self.config.clone(),
            starting: self.starting.clone(),
            database: database.to_owned(),
            user: user.to_owned(),
            workers: self.workers.clone(),
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
    pub async fn acquire(&self, database: &str, user: &str) -> Result<PooledWorker, AcquireError> {
        let pool = self.pool(database, user)?;
        self.breaker.check()?;
        let cfg = self.config.load_full();
        let metrics = crate::telemetry::Metrics::install();
        let started = std::time::Instant::now();
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
            Err(e) if is_outage(e) => {
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
    pub fn statuses(&self) -> Vec<((String, String), deadpool::Status)> {
        let pools = self.pools.lock().expect("pool registry lock");
        let mut out: Vec<_> = pools.iter().map(|(k, p)| (k.clone(), p.status())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Closes every pool: idle workers roll back and exit within `grace`
    /// (then are killed); workers still checked out are killed when their
    /// session lets go of them.
    pub async fn shutdown(&self, grace: Duration) {
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

/// A failed start that says the backend cannot be reached, as opposed to a
/// refusal of one database (3D000) or a busy pool.
fn is_outage(e: &AcquireError) -> bool {
    match e {
        AcquireError::Start { source, .. } => match &**source {
            BridgeError::Backend(b) => {
                b.sqlstate.starts_with("08") || b.sqlstate.starts_with("57P0")
            }
            _ => true,
        },
        _ => false,
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
        if self.breaker.retry_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(backoff).await;
            self.breaker.retry_scheduled.store(false, Ordering::Release);
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
