//! Why a session could not get a worker, with the SQLSTATE each reason
//! answers to the client.

use std::time::Duration;

use thiserror::Error;

use crate::bridge::BridgeError;

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
    pub(crate) fn sqlstate(&self) -> &str {
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

    /// A failed start that says the backend cannot be reached, as opposed
    /// to a refusal of one database (3D000) or a busy pool: only these open
    /// the circuit breaker.
    pub(crate) fn is_outage(&self) -> bool {
        match self {
            AcquireError::Start { source, .. } => match &**source {
                BridgeError::Backend(b) => {
                    b.sqlstate.starts_with("08") || b.sqlstate.starts_with("57P0")
                }
                _ => true,
            },
            _ => false,
        }
    }
}
