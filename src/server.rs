//! Wiring for `iriswire serve`: the bridge script, pools, listener.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use crate::config::Config;
use crate::frontend::execute::Shared;
use crate::pool::PoolRegistry;
use crate::translate::Dialect;
use crate::translate::cache::TranslationCache;

/// The bridge worker, compiled into the binary so `serve` needs no checkout.
pub const WORKER_SOURCE: &str = include_str!("../iris/iriswire_worker.py");

/// Where the worker script lives: the configured path, or the embedded copy
/// written under the data directory.
pub fn worker_script(config: &Config) -> std::io::Result<PathBuf> {
    if let Some(p) = &config.worker_script {
        return Ok(p.clone());
    }
    let dir = config.data_dir.join(".bridge");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("iriswire_worker.py");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(WORKER_SOURCE) {
        let tmp = dir.join(format!("iriswire_worker.py.{}", std::process::id()));
        std::fs::write(&tmp, WORKER_SOURCE)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

pub fn shared_state(config: Arc<Config>) -> std::io::Result<Arc<Shared>> {
    std::fs::create_dir_all(&config.data_dir)?;
    let script = worker_script(&config)?;
    let dialect = if config.backend.is_iris() {
        Dialect::Iris
    } else {
        Dialect::Sqlite
    };
    Ok(Arc::new(Shared {
        pools: PoolRegistry::new(config.clone(), script),
        translations: TranslationCache::new(dialect, config.translation_cache_size),
        schema_epoch: Default::default(),
        table_columns: Mutex::new(HashMap::new()),
        config,
    }))
}

pub async fn run(config: Config) -> Result<(), String> {
    // Before anything records: this decides whether metrics exist at all.
    crate::observability::metrics::Metrics::init(config.metrics_enabled);
    let config = Arc::new(config);
    if config.backend_defaulted {
        tracing::info!(
            data_dir = %config.data_dir.display(),
            "no IRIS configured: serving the embedded SQLite default"
        );
    }
    let shared = shared_state(config.clone()).map_err(|e| format!("data directory: {e}"))?;
    let tls = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(c), Some(k)) => Some(crate::frontend::tls_acceptor(c, k)?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let http = TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.http_listen))?;
    crate::observability::metrics::Metrics::install().spawn_upkeep();
    let health = Arc::new(crate::observability::health::Health::new(shared.clone()));
    tokio::spawn(crate::observability::health::serve(http, health.clone()));
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        backend = config.backend.as_str(),
        pool_mode = ?config.pool_mode,
        "iriswire is accepting PostgreSQL connections"
    );
    tokio::select! {
        r = crate::frontend::serve(listener, shared.clone(), tls, health) => r.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, shutting down"),
    }
    shared.pools.close();
    Ok(())
}
