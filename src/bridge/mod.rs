//! The embedded-Python bridge: worker processes (the `iris/iriswire_worker/`
//! package) that each own one backend session, and the framed protocol
//! spoken with them over pipes. See `docs/bridge-protocol.md`.

pub mod marshal;
pub mod protocol;
pub mod worker;
pub(crate) mod worker_source;

pub use protocol::{BackendError, ColumnMeta, DriverConfig, ErrorObject, WorkerConfig};
pub use worker::{Frame, Worker, WorkerSpec};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BridgeError {
    #[error("could not start bridge worker `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("bridge worker I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("bridge worker exited unexpectedly")]
    Exited,
    #[error("bridge protocol violation: {0}")]
    Protocol(String),
    #[error("bridge worker did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("{0}")]
    Backend(Box<BackendError>),
}

impl From<marshal::MarshalError> for BridgeError {
    fn from(e: marshal::MarshalError) -> Self {
        BridgeError::Protocol(e.to_string())
    }
}
