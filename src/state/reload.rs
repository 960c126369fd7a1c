//! Reloading the configuration (SIGHUP, the admin console's RELOAD):
//! validate the whole new configuration, then swap it in at once.

use std::sync::Arc;

use crate::audit::{Audit, AuditEvent};
use crate::config::{Config, ConfigError};
use crate::state::{ConfigSource, Shared};

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    /// Keys that changed but need a restart; their old values stay in force.
    pub needs_restart: Vec<&'static str>,
    /// Why new TLS certificate files were not taken (the old pair stays).
    pub tls_error: Option<String>,
}

/// Re-reads the file and environment, validates the whole result, then
/// swaps it in at once. An invalid configuration changes nothing. TLS
/// certificates are reloaded when their files changed, and the audit file
/// is reopened. Either way the attempt is audited.
pub fn reload(shared: &Shared, source: &ConfigSource) -> Result<Reloaded, ConfigError> {
    let result = apply(shared, source);
    let mut audit = Audit::new(AuditEvent::Reload);
    let reason = match &result {
        Ok(r) => r
            .tls_error
            .as_ref()
            .map(|e| format!("TLS certificate not reloaded: {e}")),
        Err(e) => Some(e.to_string()),
    };
    audit.outcome = Some(if result.is_ok() { "ok" } else { "error" });
    audit.reason = reason.as_deref();
    audit.record();
    result
}

fn apply(shared: &Shared, source: &ConfigSource) -> Result<Reloaded, ConfigError> {
    let metrics = crate::telemetry::Metrics::install();
    let mut new = match Config::load(source.file.as_deref(), &source.overrides) {
        Ok(c) => c,
        Err(e) => {
            metrics.config_reloads_failure.increment(1);
            tracing::error!(error = %e, "configuration reload failed; nothing changed");
            return Err(e);
        }
    };
    let old = shared.config();
    let needs_restart = old.restart_needed(&new);
    new.keep_restart_settings(&old);
    if let Err(e) = crate::logging::set_log_level(&new.log.level) {
        metrics.config_reloads_failure.increment(1);
        tracing::error!(error = %e, "configuration reload failed; nothing changed");
        return Err(ConfigError::Rule(e));
    }
    crate::audit::reopen(new.log.audit_file.as_deref());
    let tls_error = match shared.tls.reload(&new.tls) {
        crate::tls::TlsReload::Failed(e) => Some(e.to_string()),
        _ => None,
    };
    shared.config.store(Arc::new(new));
    shared.pools.apply_config();
    metrics.config_reloads_success.increment(1);
    if needs_restart.is_empty() {
        tracing::info!("configuration reloaded");
    } else {
        tracing::warn!(
            keys = ?needs_restart,
            "configuration reloaded; these settings changed but only take effect after a restart"
        );
    }
    Ok(Reloaded {
        needs_restart,
        tls_error,
    })
}
