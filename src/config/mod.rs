//! Configuration: defaults < TOML file < environment < command-line flags.
//!
//! Every setting is a dotted key (`pool.max_size`): `max_size` under
//! `[pool]` in the file, `IRISWIRE_POOL_MAX_SIZE` in the environment, and
//! for a few keys a flag (`--listen`). [`Config`] holds the top-level keys
//! and one section struct per TOML table ([`PoolConfig`] for `[pool]`, …),
//! so code reads `cfg.pool.max_size`.
//!
//! Loading happens in two steps:
//!
//! 1. [`layers`]: every layer is merged into one string map, key → (value,
//!    [`Source`]). Keeping strings with their source is what lets an error
//!    say `invalid value for pool.max_size: "lots" (from environment
//!    IRISWIRE_POOL_MAX_SIZE): expected a number`, and what `SHOW CONFIG`
//!    and reload's "needs a restart" check read (`Config::settings`).
//! 2. [`sections`]: each section parses its own keys from that map into
//!    typed fields (durations as `Duration`, enums, paths) and checks its
//!    rules; then the whole-config rules run.
//!
//! The sections are parsed by hand rather than with `serde::Deserialize`:
//! the messages are per key (`a number of rows`, `a number of milliseconds
//! (0 = off)`), several defaults depend on other keys (`bridge.python` on
//! `backend`, `backend` on `iris.host`), and every value arrives as a string
//! whatever its layer, so derive would need a custom deserializer plus
//! per-field hooks to say the same thing. Each section's `DEFAULTS` is the
//! list of keys it accepts: the file's unknown-key check and the
//! environment lookup both come from it.

mod error;
mod layers;
mod restart;
mod sections;
mod users;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, Source};
pub use layers::Overrides;
pub use restart::RESTART_KEYS;
pub use sections::{
    AuthConfig, BridgeConfig, HealthConfig, IrisConfig, LogConfig, LogFormat, MetricsConfig,
    PoolConfig, PoolMode, ServerConfig, SqliteConfig, TlsConfig, TlsMode, TlsVersion,
    TranslationConfig, VECTOR_ELEMENT_TYPES,
};
pub use users::User;

use layers::{Layered, Table};

/// The PostgreSQL version iriswire reports (`server_version`, `version()`):
/// what clients see and choose their behaviour by.
pub const SERVER_VERSION: &str = "16.6";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    IrisEmbedded,
    IrisNative,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::IrisEmbedded => "iris-embedded",
            BackendKind::IrisNative => "iris-native",
        }
    }

    pub fn is_iris(self) -> bool {
        !matches!(self, BackendKind::Sqlite)
    }

    /// `backend` as set, or chosen from `iris.host`: IRIS configured by host
    /// means native, nothing at all the embedded SQLite default. The flag
    /// is true when the default was taken.
    fn choose(root: &Table<'_>, iris: &Table<'_>) -> Result<(BackendKind, bool), ConfigError> {
        Ok(match root.opt_str("backend").as_deref() {
            Some("sqlite") => (BackendKind::Sqlite, false),
            Some("iris-embedded") => (BackendKind::IrisEmbedded, false),
            Some("iris-native") => (BackendKind::IrisNative, false),
            Some(_) => {
                return Err(
                    root.invalid("backend", "expected sqlite, iris-embedded or iris-native")
                );
            }
            None if iris.opt_str("host").is_some() => (BackendKind::IrisNative, false),
            None => (BackendKind::Sqlite, true),
        })
    }
}

/// The top-level keys (no table) and their defaults; `backend` empty means
/// "choose from the IRIS settings".
const ROOT_DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:6432"),
    ("http_listen", "127.0.0.1:9930"),
    ("data_dir", "./iriswire-data"),
    ("backend", ""),
];

/// Every key the file, environment and flags may set, with its default,
/// by table (`""`: top level).
const TABLES: &[(&str, &[(&str, &str)])] = &[
    ("", ROOT_DEFAULTS),
    (IrisConfig::TABLE, IrisConfig::DEFAULTS),
    (BridgeConfig::TABLE, BridgeConfig::DEFAULTS),
    (PoolConfig::TABLE, PoolConfig::DEFAULTS),
    (ServerConfig::TABLE, ServerConfig::DEFAULTS),
    (TlsConfig::TABLE, TlsConfig::DEFAULTS),
    (AuthConfig::TABLE, AuthConfig::DEFAULTS),
    (LogConfig::TABLE, LogConfig::DEFAULTS),
    (TranslationConfig::TABLE, TranslationConfig::DEFAULTS),
    (HealthConfig::TABLE, HealthConfig::DEFAULTS),
    (MetricsConfig::TABLE, MetricsConfig::DEFAULTS),
    (SqliteConfig::TABLE, SqliteConfig::DEFAULTS),
];

/// The effective configuration. Loaded at start-up and on every reload;
/// shared read-only (a reload swaps in a new one).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub http_listen: SocketAddr,
    /// SQLite databases and the extracted worker package.
    pub data_dir: PathBuf,
    pub backend: BackendKind,
    /// True when `backend` was chosen because nothing about IRIS was configured.
    pub backend_defaulted: bool,
    pub iris: IrisConfig,
    pub bridge: BridgeConfig,
    pub pool: PoolConfig,
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub translation: TranslationConfig,
    pub health: HealthConfig,
    pub metrics: MetricsConfig,
    pub sqlite: SqliteConfig,
    /// `[[users]]`; empty means trust authentication (loopback only).
    pub users: Vec<User>,
    /// Every key's effective value and where it came from, for `SHOW CONFIG`
    /// and for telling which changes a reload cannot apply.
    pub settings: BTreeMap<String, (String, String)>,
}

impl Config {
    /// Loads the configuration from `file` (if any), the process environment
    /// and `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env, overrides)
    }

    /// As [`Config::load`] with the environment given (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut layers = Layered::defaults(TABLES);
        if let Some(path) = file {
            layers.apply_file(path)?;
        }
        layers.apply_env(env);
        layers.apply_flags(overrides);
        let mut cfg = Self::from_layers(layers)?;
        cfg.backend_defaults();
        cfg.check_rules()?;
        Ok(cfg)
    }

    /// Parses every section. When several values are wrong, the first one
    /// met in this order is reported.
    fn from_layers(layers: Layered) -> Result<Config, ConfigError> {
        let root = layers.table("");
        let (backend, backend_defaulted) =
            BackendKind::choose(&root, &layers.table(IrisConfig::TABLE))?;
        let pool = PoolConfig::parse(&layers.table(PoolConfig::TABLE))?;
        let log = LogConfig::parse(&layers.table(LogConfig::TABLE))?;
        let bridge = BridgeConfig::parse(&layers.table(BridgeConfig::TABLE), backend)?;
        let tls = TlsConfig::parse(&layers.table(TlsConfig::TABLE))?;
        let addr = |key: &str| -> Result<SocketAddr, ConfigError> {
            root.parse(key, "an address like 127.0.0.1:6432")
        };
        Ok(Config {
            listen: addr("listen")?,
            http_listen: addr("http_listen")?,
            data_dir: PathBuf::from(root.raw("data_dir")),
            backend,
            backend_defaulted,
            iris: IrisConfig::parse(&layers.table(IrisConfig::TABLE))?,
            bridge,
            pool,
            server: ServerConfig::parse(&layers.table(ServerConfig::TABLE))?,
            tls,
            auth: AuthConfig::parse(&layers.table(AuthConfig::TABLE))?,
            log,
            translation: TranslationConfig::parse(&layers.table(TranslationConfig::TABLE))?,
            health: HealthConfig::parse(&layers.table(HealthConfig::TABLE))?,
            metrics: MetricsConfig::parse(&layers.table(MetricsConfig::TABLE))?,
            sqlite: SqliteConfig::parse(&layers.table(SqliteConfig::TABLE))?,
            settings: layers.settings(),
            users: layers.users,
        })
    }

    /// Defaults that depend on the backend. On SQLite one transaction left
    /// open holds the database's only write lock and blocks every writer,
    /// so an idle transaction is ended after a minute unless the setting
    /// was given (PostgreSQL's own default, 0 = off, stays for IRIS).
    fn backend_defaults(&mut self) {
        const KEY: &str = "server.idle_in_transaction_session_timeout_ms";
        const SQLITE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(60);
        let defaulted = self
            .settings
            .get(KEY)
            .is_some_and(|(_, source)| source == "default");
        if self.backend == BackendKind::Sqlite && defaulted {
            self.server.idle_in_transaction_session_timeout = SQLITE_DEFAULT;
            self.settings.insert(
                KEY.into(),
                (
                    SQLITE_DEFAULT.as_millis().to_string(),
                    "default for the sqlite backend".into(),
                ),
            );
        }
    }

    /// Whether a database name nobody used yet may create a SQLite file:
    /// `sqlite.create_databases`, by default only on a loopback-only
    /// server (elsewhere every new name a client tries would leave a file
    /// and a worker behind).
    pub fn may_create_databases(&self) -> bool {
        self.sqlite
            .create_databases
            .unwrap_or_else(|| self.listen.ip().is_loopback())
    }

    /// Rules about the configuration as a whole.
    fn check_rules(&self) -> Result<(), ConfigError> {
        if self.users.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Rule(format!(
                "refusing to listen on {} without users: trust authentication is only allowed on loopback addresses; add [[users]] entries (see `iriswire passwd`)",
                self.listen
            )));
        }
        Ok(())
    }

    /// May `user` open the `iriswire` admin console?
    pub fn is_admin(&self, user: &str) -> bool {
        if self.users.is_empty() {
            self.server.admin_users.iter().any(|u| u == user)
        } else {
            self.users.iter().any(|u| u.name == user && u.admin)
                || self.server.admin_users.iter().any(|u| u == user)
        }
    }

    /// The SQLite file behind the PostgreSQL database `database`.
    pub fn database_path(&self, database: &str) -> PathBuf {
        self.data_dir.join(format!("{database}.db"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_select_sqlite() {
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.backend, BackendKind::Sqlite);
        assert!(c.backend_defaulted);
        assert_eq!(c.listen.port(), 6432);
    }

    #[test]
    fn idle_transactions_end_after_a_minute_on_sqlite_unless_configured() {
        let minute = std::time::Duration::from_secs(60);
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.server.idle_in_transaction_session_timeout, minute);
        let off = env(&[(
            "IRISWIRE_SERVER_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS",
            "0",
        )]);
        let c = Config::load_from(None, &off, &Overrides::default()).unwrap();
        assert!(c.server.idle_in_transaction_session_timeout.is_zero());
        let iris = env(&[("IRISHOSTNAME", "127.0.0.1")]);
        let c = Config::load_from(None, &iris, &Overrides::default()).unwrap();
        assert!(c.server.idle_in_transaction_session_timeout.is_zero());
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[pool]\nmax_size = 3\nmin_size = 1\n").unwrap();
        let e = env(&[("IRISWIRE_POOL_MAX_SIZE", "5")]);
        let c = Config::load_from(Some(&file), &e, &Overrides::default()).unwrap();
        assert_eq!((c.pool.max_size, c.pool.min_size), (5, 1));
        let mut o = Overrides::default();
        o.set("pool.max_size", "pool-max-size", Some("7".into()));
        let c = Config::load_from(Some(&file), &e, &o).unwrap();
        assert_eq!(c.pool.max_size, 7);
    }

    #[test]
    fn invalid_value_names_key_value_and_source() {
        let e = env(&[("IRISWIRE_POOL_MAX_SIZE", "lots")]);
        let err = Config::load_from(None, &e, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value for pool.max_size: \"lots\" (from environment IRISWIRE_POOL_MAX_SIZE): expected a number"
        );
    }

    #[test]
    fn iris_variables_select_native_backend() {
        let e = env(&[("IRISHOSTNAME", "iris.local"), ("IRISUSERNAME", "_SYSTEM")]);
        let c = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert_eq!(c.backend, BackendKind::IrisNative);
        assert_eq!(c.iris.username.as_deref(), Some("_SYSTEM"));
    }

    #[test]
    fn unknown_file_key_and_plaintext_password_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[pool]\nmax_sise = 3\n").unwrap();
        let err = Config::load_from(Some(&file), &[], &Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Unknown { ref key, .. } if key == "pool.max_sise"));
        std::fs::write(&file, "[[users]]\nname = \"a\"\npassword = \"secret\"\n").unwrap();
        let err = Config::load_from(Some(&file), &[], &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("never plain text"), "{err}");
    }

    #[test]
    fn vector_element_type_is_checked() {
        let e = env(&[("IRISWIRE_IRIS_VECTOR_ELEMENT_TYPE", "double")]);
        let c = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert_eq!(c.iris.vector_element_type, "DOUBLE");
        let e = env(&[("IRISWIRE_IRIS_VECTOR_ELEMENT_TYPE", "string")]);
        let err = Config::load_from(None, &e, &Overrides::default()).unwrap_err();
        assert!(
            err.to_string().contains("iris.vector_element_type"),
            "{err}"
        );
    }

    #[test]
    fn non_loopback_without_users_is_refused() {
        let mut o = Overrides::default();
        o.set("listen", "listen", Some("0.0.0.0:6432".into()));
        let err = Config::load_from(None, &[], &o).unwrap_err().to_string();
        assert!(err.contains("without users"), "{err}");
    }

    #[test]
    fn every_restart_key_is_a_setting() {
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        for key in RESTART_KEYS {
            assert!(c.settings.contains_key(*key), "{key}");
        }
    }

    #[test]
    fn reload_keeps_restart_settings_and_applies_the_rest() {
        let old = Config::load_from(None, &[], &Overrides::default()).unwrap();
        let e = env(&[
            ("IRISWIRE_POOL_MODE", "transaction"),
            ("IRISWIRE_POOL_MAX_SIZE", "4"),
            ("IRISWIRE_BRIDGE_BATCH_ROWS", "7"),
            ("IRISWIRE_BRIDGE_RETRY_MAX_MS", "900"),
        ]);
        let mut new = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert_eq!(old.restart_needed(&new), ["bridge.batch_rows", "pool.mode"]);
        new.keep_restart_settings(&old);
        assert_eq!(new.pool.mode, PoolMode::Session);
        assert_eq!(new.bridge.batch_rows, 512);
        assert_eq!(new.settings["pool.mode"].0, "session");
        assert_eq!(new.pool.max_size, 4);
        assert_eq!(new.bridge.retry_max, std::time::Duration::from_millis(900));
        assert!(old.restart_needed(&new).is_empty());
    }

    #[test]
    fn tls_mode_require_needs_a_certificate() {
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.tls.mode, TlsMode::Allow);
        assert_eq!(c.tls.min_version, TlsVersion::V1_2);
        let e = env(&[("IRISWIRE_TLS_MODE", "require")]);
        let err = Config::load_from(None, &e, &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("tls.mode"), "{err}");
        let e = env(&[
            ("IRISWIRE_TLS_MODE", "require"),
            ("IRISWIRE_TLS_CERT_FILE", "/c.pem"),
            ("IRISWIRE_TLS_KEY_FILE", "/k.pem"),
            ("IRISWIRE_TLS_MIN_VERSION", "1.3"),
        ]);
        let c = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert_eq!(c.tls.mode, TlsMode::Require);
        assert_eq!(c.tls.min_version, TlsVersion::V1_3);
        let e = env(&[("IRISWIRE_TLS_MIN_VERSION", "1.1")]);
        let err = Config::load_from(None, &e, &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("expected 1.2 or 1.3"), "{err}");
    }

    #[test]
    fn auth_section_parses_and_checks_its_delays() {
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.auth.failure_delay, std::time::Duration::from_millis(100));
        assert_eq!(c.auth.failure_delay_max, std::time::Duration::from_secs(5));
        assert_eq!(c.auth.failure_cooldown, std::time::Duration::from_secs(60));
        let e = env(&[("IRISWIRE_AUTH_FAILURE_DELAY_MS", "9000")]);
        let err = Config::load_from(None, &e, &Overrides::default()).unwrap_err();
        assert!(
            err.to_string().contains("auth.failure_delay_max_ms"),
            "{err}"
        );
        let e = env(&[("IRISWIRE_AUTH_FAILURE_DELAY_MS", "0")]);
        let c = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert!(c.auth.failure_delay.is_zero());
    }

    #[test]
    fn defaults_are_as_documented() {
        let c = Config::load_from(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.bridge.python, "python3");
        assert_eq!(c.pool.acquire_timeout, std::time::Duration::from_secs(5));
        assert_eq!(c.pool.worker_max_age, std::time::Duration::from_secs(3600));
        assert_eq!(c.server.statement_timeout, std::time::Duration::ZERO);
        assert_eq!(c.server.max_message_size, 64 << 20);
        assert_eq!(c.settings["pool.max_size"], ("16".into(), "default".into()));
        let e = env(&[("IRISWIRE_BACKEND", "iris-embedded")]);
        let c = Config::load_from(None, &e, &Overrides::default()).unwrap();
        assert_eq!(c.bridge.python, "irispython");
    }
}
