//! What a reload (SIGHUP, `RELOAD`) cannot apply: settings bound at
//! start-up keep their old values until the next restart.

use super::Config;

/// Settings bound at start-up (sockets, the backend and its workers'
/// interpreter): a reload reports a change to them instead of applying it.
pub const RESTART_KEYS: &[&str] = &[
    "listen",
    "http_listen",
    "data_dir",
    "backend",
    "iris.host",
    "iris.port",
    "iris.namespace",
    "iris.username",
    "iris.password",
    "iris.schema",
    "iris.vector_element_type",
    "bridge.python",
    "bridge.worker_script",
    "bridge.batch_rows",
    "pool.mode",
    "log.format",
    "translation.cache_size",
    "translation.cache_bytes",
    "translation.max_cached_statement_bytes",
    "metrics.enabled",
];

impl Config {
    /// Keys whose value differs in `new` but cannot change without a restart.
    pub fn restart_needed(&self, new: &Config) -> Vec<&'static str> {
        RESTART_KEYS
            .iter()
            .copied()
            .filter(|k| self.settings.get(*k).map(|v| &v.0) != new.settings.get(*k).map(|v| &v.0))
            .collect()
    }

    /// Keeps `old`'s values of the settings a reload cannot apply: the
    /// fields behind [`RESTART_KEYS`] and those keys' `settings` entries.
    pub fn keep_restart_settings(&mut self, old: &Config) {
        self.listen = old.listen;
        self.http_listen = old.http_listen;
        self.data_dir = old.data_dir.clone();
        self.backend = old.backend;
        self.backend_defaulted = old.backend_defaulted;
        self.iris = old.iris.clone();
        self.bridge.python = old.bridge.python.clone();
        self.bridge.worker_script = old.bridge.worker_script.clone();
        self.bridge.batch_rows = old.bridge.batch_rows;
        self.pool.mode = old.pool.mode;
        self.log.format = old.log.format;
        self.translation = old.translation.clone();
        self.metrics = old.metrics.clone();
        for key in RESTART_KEYS {
            match old.settings.get(*key) {
                Some(v) => self.settings.insert((*key).to_owned(), v.clone()),
                None => self.settings.remove(*key),
            };
        }
    }
}
