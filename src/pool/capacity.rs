//! The server-wide worker budget and idle shutdown.
//!
//! Each pool caps its own workers (`pool.max_size`), but pools are made on
//! demand, one per (database, user): without a cap across them, every new
//! database name a client tries would add a resident Python process (about
//! 20 MB each). So every live worker holds one permit of a server-wide
//! semaphore of `pool.max_total_workers`, released when the worker exits.
//!
//! A pool that needs a new worker while the budget is spent first retires
//! one *idle* worker of another pool, the one unused for longest (as
//! PgBouncer closes an idle server connection of another pool when
//! `max_db_connections` is reached), then waits for the permit up to the
//! worker start timeout; after that the client gets 53300, PostgreSQL's
//! "too many connections".
//!
//! Workers left idle for `pool.idle_timeout_ms` are shut down by a reaper
//! (PgBouncer's `server_idle_timeout`), down to `pool.min_size` per pool,
//! so a burst of databases does not leave its workers behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bridge::{BackendError, BridgeError, ErrorObject, Worker};
use crate::config::Config;

use super::WorkerPool;

/// A pool's key: (database, user).
pub(crate) type PoolKey = (String, String);
/// The pools of the server, shared by the registry and the budget.
pub(crate) type PoolMap = Arc<Mutex<HashMap<PoolKey, WorkerPool>>>;

/// How long a retired worker may take to roll back and exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The permits of `pool.max_total_workers`, and the pools to take an idle
/// worker from when they are spent.
pub(crate) struct WorkerBudget {
    permits: Arc<Semaphore>,
    /// The budget in force; permits are added or withdrawn on reload.
    size: Mutex<usize>,
    pools: Weak<Mutex<HashMap<PoolKey, WorkerPool>>>,
}

impl WorkerBudget {
    pub(crate) fn new(size: usize, pools: &PoolMap) -> Self {
        WorkerBudget {
            permits: Arc::new(Semaphore::new(size)),
            size: Mutex::new(size),
            pools: Arc::downgrade(pools),
        }
    }

    /// Follows a reloaded `pool.max_total_workers`. A smaller budget takes
    /// back free permits now and the rest as workers exit.
    pub(crate) fn resize(&self, new: usize) {
        let mut size = self.size.lock().expect("worker budget");
        if new > *size {
            self.permits.add_permits(new - *size);
        } else if new < *size {
            let mut owed = *size - new;
            owed -= self.permits.forget_permits(owed);
            if owed > 0 {
                let permits = self.permits.clone();
                tokio::spawn(async move {
                    if let Ok(p) = permits.acquire_many_owned(owed as u32).await {
                        p.forget();
                    }
                });
            }
        }
        *size = new;
    }

    /// A permit for a new worker of pool `key`: at once when one is free,
    /// else after retiring another pool's longest-idle worker, waiting at
    /// most `wait`.
    pub(crate) async fn permit(
        &self,
        key: &PoolKey,
        wait: Duration,
    ) -> Result<OwnedSemaphorePermit, BridgeError> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        self.retire_idle_elsewhere(key);
        match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(BridgeError::Backend(Box::new(BackendError {
                sqlstate: "53300".into(),
                message: format!(
                    "all {} bridge workers of this server are busy (pool.max_total_workers)",
                    *self.size.lock().expect("worker budget")
                ),
                detail: None,
                hint: Some(
                    "retry later, or raise pool.max_total_workers if the host has the memory"
                        .into(),
                ),
                backend_code: None,
                in_transaction: false,
                object: Box::new(ErrorObject::default()),
                row: None,
            }))),
        }
    }

    /// Retires the idle worker, of any pool but `key`'s, unused for longest.
    fn retire_idle_elsewhere(&self, key: &PoolKey) {
        let Some(pools) = self.pools.upgrade() else {
            return;
        };
        let pools: Vec<(PoolKey, WorkerPool)> = pools
            .lock()
            .expect("pool registry lock")
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        let mut oldest: Option<(Duration, &WorkerPool)> = None;
        for (_, pool) in &pools {
            let mut longest = None;
            // retain() visits the idle workers only; keep them all here.
            pool.retain(|w, _| {
                let idle = w.last_active.elapsed();
                longest = Some(longest.map_or(idle, |l: Duration| l.max(idle)));
                true
            });
            if let Some(idle) = longest
                && oldest.is_none_or(|(o, _)| idle > o)
            {
                oldest = Some((idle, pool));
            }
        }
        let Some((idle, pool)) = oldest else {
            return;
        };
        let mut taken = false;
        let removed = pool
            .retain(|w, _| {
                if !taken && w.last_active.elapsed() >= idle {
                    taken = true;
                    return false;
                }
                true
            })
            .removed;
        retire(removed, Retired::Evicted);
    }
}

/// Why workers leave their pool here, for `iriswire_worker_exits_total`.
#[derive(Clone, Copy)]
enum Retired {
    Evicted,
    Idle,
}

/// Lets `workers` roll back and exit in the background; their permits
/// return when they are gone.
fn retire(workers: Vec<Worker>, why: Retired) {
    if workers.is_empty() {
        return;
    }
    let metrics = crate::telemetry::Metrics::install();
    let counter = match why {
        Retired::Evicted => &metrics.worker_exits_evicted,
        Retired::Idle => &metrics.worker_exits_idle,
    };
    counter.increment(workers.len() as u64);
    for w in workers {
        tokio::spawn(w.terminate(EXIT_GRACE));
    }
}

/// Shuts down workers idle for longer than `pool.idle_timeout_ms`, keeping
/// `pool.min_size` per pool; runs until the registry is dropped.
pub(crate) fn spawn_idle_reaper(pools: &PoolMap, config: Arc<ArcSwap<Config>>) {
    let pools = Arc::downgrade(pools);
    tokio::spawn(async move {
        loop {
            let timeout = config.load().pool.idle_timeout;
            // Often enough that a worker outlives its timeout by at most
            // half of it (and never by more than 10 s).
            let period = if timeout.is_zero() {
                Duration::from_secs(10)
            } else {
                (timeout / 2).clamp(Duration::from_millis(50), Duration::from_secs(10))
            };
            tokio::time::sleep(period).await;
            let Some(pools) = pools.upgrade() else {
                return;
            };
            if timeout.is_zero() {
                continue; // 0 turns idle shutdown off
            }
            let min_size = config.load().pool.min_size;
            let pools: Vec<WorkerPool> = pools
                .lock()
                .expect("pool registry lock")
                .values()
                .cloned()
                .collect();
            for pool in pools {
                let mut keep = pool.status().size;
                let removed = pool
                    .retain(|w, _| {
                        if keep > min_size && w.last_active.elapsed() >= timeout {
                            keep -= 1;
                            return false;
                        }
                        true
                    })
                    .removed;
                retire(removed, Retired::Idle);
            }
        }
    });
}
