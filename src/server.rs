//! Wiring for `iriswire serve`: the bridge script, pools, listener.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::pool::PoolRegistry;
use crate::state::Shared;
use crate::state::clients::Clients;
use crate::state::reload::reload;
use crate::state::{ConfigSource, Lifecycle, Phase};
use crate::translate::Dialect;
use crate::translate::cache::TranslationCache;

/// What bridge workers run: the configured `bridge.worker_script`, or the
/// embedded worker package written under the data directory.
pub fn worker_script(config: &Config) -> std::io::Result<PathBuf> {
    crate::bridge::worker_source::worker_entry(
        config.bridge.worker_script.as_deref(),
        &config.data_dir,
    )
}

pub fn shared_state(
    config: Arc<Config>,
    source: ConfigSource,
    tls: crate::tls::ServerTls,
) -> std::io::Result<Arc<Shared>> {
    std::fs::create_dir_all(&config.data_dir)?;
    let script = worker_script(&config)?;
    let dialect = if config.backend.is_iris() {
        Dialect::Iris
    } else {
        Dialect::Sqlite
    };
    crate::translate::vector::set_element_type(&config.iris.vector_element_type);
    let swap = Arc::new(ArcSwap::new(config.clone()));
    Ok(Arc::new(Shared {
        pools: PoolRegistry::new(swap.clone(), script),
        translations: TranslationCache::with_limits(
            dialect,
            config.translation.cache_size,
            config.translation.cache_bytes,
            config.translation.max_cached_statement_bytes,
        ),
        schema_epoch: Default::default(),
        table_columns: Mutex::new(HashMap::new()),
        clients: Arc::new(Clients::new()),
        lifecycle: Lifecycle::default(),
        config_source: source,
        tls,
        config: swap,
    }))
}

/// Raises the soft file-descriptor limit to the hard one: every client
/// holds a socket and every worker three pipes, and the usual soft default
/// of 1,024 is below `server.max_client_connections`' default alone.
fn raise_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a valid pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            let soft = lim.rlim_cur;
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                tracing::debug!(
                    from = soft,
                    to = lim.rlim_max,
                    "raised the file-descriptor limit"
                );
            }
        }
    }
}

pub async fn run(config: Config, source: ConfigSource) -> Result<(), String> {
    // Before anything records: this decides whether metrics exist at all.
    crate::telemetry::Metrics::init(config.metrics.enabled).build_info(config.backend.as_str());
    let config = Arc::new(config);
    raise_file_limit();
    if config.backend_defaulted {
        tracing::info!(
            data_dir = %config.data_dir.display(),
            "no IRIS configured: serving the embedded SQLite default"
        );
    }
    let tls = crate::tls::ServerTls::load(&config.tls).map_err(|e| format!("TLS: {e}"))?;
    if let Some(path) = &config.log.audit_file {
        crate::audit::open(Some(path))
            .map_err(|e| format!("log.audit_file {}: {e}", path.display()))?;
    }
    let shared =
        shared_state(config.clone(), source, tls).map_err(|e| format!("data directory: {e}"))?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let http = TcpListener::bind(config.http_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.http_listen))?;
    crate::telemetry::Metrics::install().spawn_upkeep();
    let health = Arc::new(crate::http::health::Health::new(shared.clone()));
    tokio::spawn(crate::http::serve(http, health.clone()));
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        backend = config.backend.as_str(),
        pool_mode = ?config.pool.mode,
        "iriswire is accepting PostgreSQL connections"
    );
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let reload_shared = shared.clone();
    tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            let _ = reload(&reload_shared, &reload_shared.config_source);
        }
    });
    let mut phase = shared.lifecycle.subscribe();
    let serving = tokio::spawn(crate::frontend::serve(
        listener,
        shared.clone(),
        async move {
            let _ = phase.wait_for(|p| *p != Phase::Running).await;
        },
    ));
    let why = tokio::select! {
        _ = sigterm.recv() => "SIGTERM",
        _ = sigint.recv() => "SIGINT",
        _ = shared.lifecycle.shutdown_requested() => "SHUTDOWN requested",
    };
    tracing::info!("{why}: draining");
    let mut audit = crate::audit::Audit::new(crate::audit::AuditEvent::Drain);
    audit.reason = Some(why);
    audit.record();
    // Readiness is red from here on; the accept loop ends and its listener
    // is closed, so new connections are refused by the kernel.
    shared.set_phase(Phase::Draining);
    let _ = serving.await;
    let cfg = shared.config();
    let deadline = tokio::time::Instant::now() + cfg.server.shutdown_timeout;
    tracing::info!(
        connections = shared.clients.list().len(),
        shutdown_timeout_ms = cfg.server.shutdown_timeout.as_millis() as u64,
        "listener closed; waiting for open transactions and statements"
    );
    let second_signal = async {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    };
    tokio::pin!(second_signal);
    tokio::select! {
        _ = all_closed(&shared) => {}
        _ = &mut second_signal => {
            tracing::warn!("second signal: exiting without waiting");
            return Err("stopped by a second signal before the drain finished".into());
        }
        _ = tokio::time::sleep_until(deadline) => {
            let left = shared.clients.list().len();
            tracing::warn!(connections = left, "shutdown_timeout reached: cancelling statements and closing connections");
            shared.set_phase(Phase::Closing);
            let grace = cfg.server.cancel_grace + Duration::from_secs(2);
            tokio::select! {
                _ = all_closed(&shared) => {}
                _ = tokio::time::sleep(grace) => {
                    tracing::warn!(connections = shared.clients.list().len(), "connections still open after cancelling; exiting anyway");
                }
                _ = &mut second_signal => {
                    return Err("stopped by a second signal before the drain finished".into());
                }
            }
        }
    }
    shared.pools.shutdown(Duration::from_secs(2)).await;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves once every client connection has closed.
async fn all_closed(shared: &Shared) {
    while !shared.clients.list().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
