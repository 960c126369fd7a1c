//! Pools of bridge workers, one per (database, user), on `deadpool`.
//!
//! A PostgreSQL database name selects the backend database: an IRIS
//! namespace, or on the embedded default a SQLite file under `--data-dir`,
//! created on first use. A session (or, in transaction pooling, a
//! transaction) holds one worker, and so one backend session, at a time.
//!
//! - `registry`: [`PoolRegistry`], the pools by (database, user), and
//!   checking a worker out of them;
//! - `manager`: [`WorkerManager`], how a pool starts a worker and decides
//!   whether a returned one may serve again;
//! - `capacity`: the server-wide worker budget (`pool.max_total_workers`)
//!   and the shutdown of idle workers (`pool.idle_timeout_ms`);
//! - `breaker`: the circuit breaker that answers at once, instead of
//!   after a start timeout, while the backend cannot be reached;
//! - `error`: [`AcquireError`], why no worker was had.

mod breaker;
mod capacity;
mod error;
mod manager;
mod registry;

pub use error::AcquireError;
pub(crate) use manager::WorkerInfo;
pub use manager::{PooledWorker, WorkerManager, WorkerPool};
pub use registry::PoolRegistry;
