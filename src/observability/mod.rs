//! Logs, health probes (and, with the monitoring work, metrics).

pub mod health;
pub mod metrics;

use crate::config::{Config, LogFormat};

/// Installs the global `tracing` subscriber. `RUST_LOG` overrides `log.level`.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
