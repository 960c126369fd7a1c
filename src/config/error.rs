//! What can go wrong loading the configuration, and where a value came from.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// Where a setting's value came from, for error messages and `SHOW CONFIG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    /// The environment variable's name (`IRISWIRE_POOL_MAX_SIZE`, `IRISHOSTNAME`).
    Env(String),
    /// The flag's name without its dashes (`http-listen`).
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "environment {v}"),
            Source::Flag(n) => write!(f, "flag --{n}"),
        }
    }
}

/// A configuration the server refuses to start (or reload) with. Each
/// variant prints as the one line `check-config` and start-up report.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A value that does not parse or breaks a rule about its own key.
    #[error("invalid value for {key}: {value:?} (from {origin}): {reason}")]
    Invalid {
        key: String,
        value: String,
        origin: Source,
        reason: String,
    },
    /// A key no section knows, usually a typo in the file.
    #[error("unknown setting {key} (from {origin})")]
    Unknown { key: String, origin: Source },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// A rule about several keys together, or about the whole configuration.
    #[error("{0}")]
    Rule(String),
}
