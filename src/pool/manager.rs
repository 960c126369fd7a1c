//! The `deadpool` manager of one pool: how a bridge worker is started, and
//! whether a worker handed back may serve again.
//!
//! deadpool calls [`WorkerManager::create`](managed::Manager::create) when a
//! pool needs a worker it does not have, and
//! [`recycle`](managed::Manager::recycle) when it hands an idle worker out
//! again; an `Err` from `recycle` makes it drop that worker and start a new
//! one. So every rule about retiring workers (crashed, too old, too many
//! uses, grown too big, stuck in a transaction) lives in `recycle`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use tokio::sync::OwnedSemaphorePermit;

use crate::bridge::{BridgeError, Worker, WorkerSpec};
use crate::config::Config;

use super::capacity::{PoolKey, WorkerBudget};

/// A pool of bridge workers for one (database, user).
pub type WorkerPool = managed::Pool<WorkerManager>;
/// A worker checked out of a [`WorkerPool`]; dropping it hands it back.
pub type PooledWorker = managed::Object<WorkerManager>;

/// A live worker, for the admin console's `SHOW SERVERS`.
#[derive(Debug, Clone)]
pub(crate) struct WorkerInfo {
    pub(crate) pid: u32,
    pub(crate) database: String,
    pub(crate) user: String,
    pub(crate) started: SystemTime,
}

/// Every live worker of the process, by pid.
pub(crate) type WorkerList = Arc<Mutex<BTreeMap<u32, WorkerInfo>>>;

/// Removes a worker from the list when the worker is dropped, and gives
/// its permit back to the server-wide budget.
struct Registration {
    list: WorkerList,
    pid: u32,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.list.lock().expect("worker list").remove(&self.pid);
    }
}

/// Recent worker crashes, to tell a crash loop from a one-off.
#[derive(Default)]
pub(crate) struct CrashLog {
    /// Crash times within the window, and when a loop was last reported.
    recent: Mutex<(VecDeque<Instant>, Option<Instant>)>,
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

/// Starts and recycles the workers of one (database, user) pool. The
/// handles it shares with the other pools belong to the
/// [`PoolRegistry`](super::PoolRegistry), which builds it.
pub struct WorkerManager {
    pub(super) spec: WorkerSpec,
    pub(super) crashes: Arc<CrashLog>,
    pub(super) key: PoolKey,
    pub(super) workers: WorkerList,
    /// The server-wide worker budget: a permit per live worker.
    pub(super) budget: Arc<WorkerBudget>,
    /// Read at each recycle, so a reload changes ages and use counts.
    pub(super) config: Arc<ArcSwap<Config>>,
    /// Worker starts in progress in all pools.
    pub(super) starting: Arc<AtomicUsize>,
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
        // Half the start timeout at most, so that waiting for the budget
        // never turns the start itself into a timeout (which would open
        // the circuit breaker as if the backend were down).
        let permit = self
            .budget
            .permit(&self.key, self.spec.start_timeout / 2)
            .await?;
        let mut w = Worker::spawn(&self.spec).await?;
        let pid = w.pid();
        self.workers.lock().expect("worker list").insert(
            pid,
            WorkerInfo {
                pid,
                database: self.key.0.clone(),
                user: self.key.1.clone(),
                started: SystemTime::now(),
            },
        );
        w.registration = Some(Box::new(Registration {
            list: self.workers.clone(),
            pid,
            _permit: permit,
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
        if w.needs_reset {
            // Another session must not see the last one's temporary tables.
            w.reset()
                .await
                .map_err(RecycleError::Backend)?
                .map_err(|e| RecycleError::message(format!("worker could not be reset: {e}")))?;
        }
        Ok(())
    }
}
