//! Configuration: defaults < TOML file < environment < command-line flags.
//!
//! Every setting is a dotted key (`pool.max_size`). Layers are merged as
//! strings with the place each value came from, then parsed once into
//! [`Config`]; an invalid value is reported with its key, value and source.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// The PostgreSQL version iriswire reports (`server_version`, `version()`):
/// what clients see and choose their behaviour by.
pub const SERVER_VERSION: &str = "16.6";

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
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

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("invalid value for {key}: {value:?} (from {origin}): {reason}")]
    Invalid {
        key: String,
        value: String,
        origin: Source,
        reason: String,
    },
    #[error("unknown setting {key} (from {origin})")]
    Unknown { key: String, origin: Source },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Rule(String),
}

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A configured login. `secret` is a PostgreSQL-style SCRAM verifier
/// (`SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>`) or MD5 hash (`md5<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub secret: String,
    pub admin: bool,
}

#[derive(Debug, Clone)]
pub struct IrisConfig {
    pub host: Option<String>,
    pub port: u16,
    pub namespace: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub schema: String,
    /// Element type of `VECTOR(...)` columns and `TO_VECTOR` on IRIS.
    pub vector_element_type: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub data_dir: PathBuf,
    pub backend: BackendKind,
    /// True when `backend` was chosen because nothing about IRIS was configured.
    pub backend_defaulted: bool,
    pub iris: IrisConfig,
    pub python: String,
    pub worker_script: Option<PathBuf>,
    pub batch_rows: u32,
    pub worker_start_timeout: Duration,
    pub pool_mode: PoolMode,
    pub pool_min_size: usize,
    pub pool_max_size: usize,
    pub pool_acquire_timeout: Duration,
    pub worker_max_age: Duration,
    pub worker_max_uses: u64,
    pub max_client_connections: usize,
    /// 0: unlimited.
    pub max_connections_per_user: usize,
    /// 0: unlimited.
    pub max_connections_per_database: usize,
    /// Zero durations mean "off", as in PostgreSQL.
    pub client_idle_timeout: Duration,
    pub idle_in_transaction_session_timeout: Duration,
    pub statement_timeout: Duration,
    /// How long an interrupted worker has to stop before it is killed.
    pub cancel_grace: Duration,
    /// CancelRequests accepted per second from one source address.
    pub cancel_rate_per_s: u32,
    pub shutdown_timeout: Duration,
    /// Names that may use the `iriswire` admin console in trust mode (no
    /// `[[users]]`); configured users need `admin = true` instead.
    pub admin_users: Vec<String>,
    /// Backoff after a failed worker start: doubles from `retry_initial` up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// Every key's effective value and where it came from, for `SHOW CONFIG`
    /// and for telling which changes a reload cannot apply.
    pub settings: BTreeMap<String, (String, String)>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub users: Vec<User>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub translation_cache_size: usize,
    pub health_probe_timeout: Duration,
    pub health_cache: Duration,
    pub health_probe_database: String,
    pub slow_query: Duration,
    pub metrics_enabled: bool,
    pub log_statement_max_len: usize,
    /// Start-up and authentication must finish within this.
    pub login_timeout: Duration,
    /// Connections still logging in; the oldest is closed to admit a new one.
    pub max_pending_logins: usize,
    /// The largest message a logged-in client may send, in bytes.
    pub max_message_size: usize,
    /// A worker that ran a statement larger than this is retired when it
    /// goes back to the pool.
    pub worker_max_statement_bytes: usize,
    /// Memory budget of the translation cache (statement text and translation).
    pub translation_cache_bytes: usize,
    /// Statements longer than this are translated each time, never cached.
    pub translation_max_cached_statement: usize,
}

/// Every key the file, environment and flags may set, with its default.
const KEYS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:6432"),
    ("http_listen", "127.0.0.1:9930"),
    ("data_dir", "./iriswire-data"),
    ("backend", ""),
    ("iris.host", ""),
    ("iris.port", "1972"),
    ("iris.namespace", "USER"),
    ("iris.username", ""),
    ("iris.password", ""),
    ("iris.schema", "SQLUser"),
    ("iris.vector_element_type", "FLOAT"),
    ("bridge.python", ""),
    ("bridge.worker_script", ""),
    ("bridge.batch_rows", "512"),
    ("bridge.start_timeout_ms", "15000"),
    ("pool.mode", "session"),
    ("pool.min_size", "0"),
    ("pool.max_size", "16"),
    ("pool.acquire_timeout_ms", "5000"),
    ("pool.worker_max_age_s", "3600"),
    ("pool.worker_max_uses", "1000000"),
    ("server.max_client_connections", "1000"),
    ("server.max_connections_per_user", "0"),
    ("server.max_connections_per_database", "0"),
    ("server.client_idle_timeout_ms", "0"),
    ("server.idle_in_transaction_session_timeout_ms", "0"),
    ("server.statement_timeout_ms", "0"),
    ("server.cancel_grace_ms", "500"),
    ("server.cancel_rate_per_s", "20"),
    ("server.shutdown_timeout_ms", "30000"),
    ("server.admin_users", ""),
    ("server.login_timeout_ms", "10000"),
    ("server.max_pending_logins", "128"),
    ("server.max_message_size", "67108864"),
    ("bridge.retry_initial_ms", "250"),
    ("bridge.retry_max_ms", "30000"),
    ("tls.cert_file", ""),
    ("tls.key_file", ""),
    ("log.format", "text"),
    ("log.level", "info"),
    ("translation.cache_size", "4096"),
    ("translation.cache_bytes", "67108864"),
    ("translation.max_cached_statement_bytes", "1048576"),
    ("bridge.recycle_after_statement_bytes", "16777216"),
    ("health.probe_timeout_ms", "2000"),
    ("health.cache_ms", "1000"),
    ("health.probe_database", "postgres"),
    ("log.slow_query_ms", "1000"),
    ("log.statement_max_len", "200"),
    ("metrics.enabled", "true"),
];

/// Values set on the command line, by key.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub flags: Vec<(&'static str, &'static str, String)>,
}

impl Overrides {
    pub fn set(&mut self, key: &'static str, flag: &'static str, value: Option<String>) {
        if let Some(v) = value {
            self.flags.push((key, flag, v));
        }
    }
}

#[derive(Debug, Clone)]
struct Layered {
    values: BTreeMap<String, (String, Source)>,
    users: Vec<User>,
}

impl Config {
    /// Loads the configuration from `file` (if any), the process environment
    /// and `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env, overrides)
    }

    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut layers = Layered {
            values: KEYS
                .iter()
                .map(|(k, v)| (k.to_string(), (v.to_string(), Source::Default)))
                .collect(),
            users: Vec::new(),
        };
        if let Some(path) = file {
            layers.apply_file(path)?;
        }
        layers.apply_env(env)?;
        for (key, flag, value) in &overrides.flags {
            layers.values.insert(
                key.to_string(),
                (value.clone(), Source::Flag(flag.to_string())),
            );
        }
        layers.build()
    }
}

fn env_key(key: &str) -> String {
    format!("IRISWIRE_{}", key.replace('.', "_").to_ascii_uppercase())
}

impl Layered {
    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::File {
                path: path.to_owned(),
                reason: e.message().to_owned(),
            })?;
        let source = Source::File(path.to_owned());
        for (k, v) in table {
            match (k.as_str(), v) {
                ("users", toml::Value::Array(users)) => {
                    for u in users {
                        self.users.push(parse_user(&u, &source)?);
                    }
                }
                (section, toml::Value::Table(t)) => {
                    for (k2, v2) in t {
                        self.set_file_value(&format!("{section}.{k2}"), v2, &source)?;
                    }
                }
                (key, v) => self.set_file_value(key, v, &source)?,
            }
        }
        Ok(())
    }

    fn set_file_value(
        &mut self,
        key: &str,
        v: toml::Value,
        source: &Source,
    ) -> Result<(), ConfigError> {
        if !self.values.contains_key(key) {
            return Err(ConfigError::Unknown {
                key: key.to_owned(),
                origin: source.clone(),
            });
        }
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    value: other.to_string(),
                    origin: source.clone(),
                    reason: "expected a string, number or boolean".into(),
                });
            }
        };
        self.values.insert(key.to_owned(), (s, source.clone()));
        Ok(())
    }

    fn apply_env(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        // IRIS's own variables first, so IRISWIRE_IRIS_* can still override them.
        const IRIS_VARS: &[(&str, &str)] = &[
            ("IRISHOSTNAME", "iris.host"),
            ("IRIS_HOST", "iris.host"),
            ("IRISPORT", "iris.port"),
            ("IRIS_PORT", "iris.port"),
            ("IRISNAMESPACE", "iris.namespace"),
            ("IRISUSERNAME", "iris.username"),
            ("IRISPASSWORD", "iris.password"),
        ];
        for (var, key) in IRIS_VARS {
            if let Some((_, v)) = env.iter().find(|(k, _)| k == var) {
                self.values
                    .insert(key.to_string(), (v.clone(), Source::Env(var.to_string())));
            }
        }
        let known: Vec<String> = self.values.keys().cloned().collect();
        for key in known {
            let var = env_key(&key);
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == var) {
                self.values.insert(key, (v.clone(), Source::Env(var)));
            }
        }
        Ok(())
    }

    fn raw(&self, key: &str) -> (&str, &Source) {
        let (v, s) = &self.values[key];
        (v.as_str(), s)
    }

    fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        let (v, s) = self.raw(key);
        ConfigError::Invalid {
            key: key.to_owned(),
            value: v.to_owned(),
            origin: s.clone(),
            reason: reason.into(),
        }
    }

    fn opt_str(&self, key: &str) -> Option<String> {
        let v = self.raw(key).0.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn parse<T: std::str::FromStr>(&self, key: &str, what: &str) -> Result<T, ConfigError> {
        self.raw(key)
            .0
            .trim()
            .parse()
            .map_err(|_| self.invalid(key, format!("expected {what}")))
    }

    fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<T, ConfigError> {
        let v: T = self.parse(key, what)?;
        if v <= T::default() {
            return Err(self.invalid(key, "must be greater than zero"));
        }
        Ok(v)
    }

    /// Milliseconds where 0 means "off".
    fn opt_millis(&self, key: &str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.parse(key, "a number of milliseconds (0 = off)")?,
        ))
    }

    fn millis(&self, key: &str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.positive(key, "a number of milliseconds")?,
        ))
    }

    fn build(self) -> Result<Config, ConfigError> {
        let addr = |key: &str| -> Result<SocketAddr, ConfigError> {
            self.parse(key, "an address like 127.0.0.1:6432")
        };
        let iris_host = self.opt_str("iris.host");
        let (backend, backend_defaulted) = match self.opt_str("backend").as_deref() {
            Some("sqlite") => (BackendKind::Sqlite, false),
            Some("iris-embedded") => (BackendKind::IrisEmbedded, false),
            Some("iris-native") => (BackendKind::IrisNative, false),
            Some(_) => {
                return Err(
                    self.invalid("backend", "expected sqlite, iris-embedded or iris-native")
                );
            }
            // IRIS configured by host → native; otherwise the embedded default.
            None if iris_host.is_some() => (BackendKind::IrisNative, false),
            None => (BackendKind::Sqlite, true),
        };
        let pool_mode = match self.raw("pool.mode").0.trim() {
            "session" => PoolMode::Session,
            "transaction" => PoolMode::Transaction,
            _ => return Err(self.invalid("pool.mode", "expected session or transaction")),
        };
        let log_format = match self.raw("log.format").0.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(self.invalid("log.format", "expected text or json")),
        };
        let log_level = self.raw("log.level").0.trim().to_owned();
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(self.invalid(
                "log.level",
                "expected a level or filter like info,iriswire=debug",
            ));
        }
        let python = self.opt_str("bridge.python").unwrap_or_else(|| {
            if backend == BackendKind::IrisEmbedded {
                "irispython".into()
            } else {
                "python3".into()
            }
        });
        let pool_min_size: usize = self.parse("pool.min_size", "a number")?;
        let pool_max_size: usize = self.positive("pool.max_size", "a number")?;
        if self.parse::<u64>("bridge.retry_initial_ms", "a number")?
            > self.parse::<u64>("bridge.retry_max_ms", "a number")?
        {
            return Err(self.invalid(
                "bridge.retry_initial_ms",
                "must not exceed bridge.retry_max_ms",
            ));
        }
        if pool_min_size > pool_max_size {
            return Err(self.invalid("pool.min_size", "must not exceed pool.max_size"));
        }
        let tls_cert_file = self.opt_str("tls.cert_file").map(PathBuf::from);
        let tls_key_file = self.opt_str("tls.key_file").map(PathBuf::from);
        if tls_cert_file.is_some() != tls_key_file.is_some() {
            return Err(ConfigError::Rule(
                "tls.cert_file and tls.key_file must be set together".into(),
            ));
        }
        let cfg = Config {
            listen: addr("listen")?,
            http_listen: addr("http_listen")?,
            data_dir: PathBuf::from(self.raw("data_dir").0),
            backend,
            backend_defaulted,
            iris: IrisConfig {
                host: iris_host,
                port: self.parse("iris.port", "a port number")?,
                namespace: self.raw("iris.namespace").0.to_owned(),
                username: self.opt_str("iris.username"),
                password: self.opt_str("iris.password"),
                schema: self.raw("iris.schema").0.to_owned(),
                vector_element_type: {
                    let v = self
                        .raw("iris.vector_element_type")
                        .0
                        .trim()
                        .to_ascii_uppercase();
                    if !crate::translate::vector::ELEMENT_TYPES.contains(&v.as_str()) {
                        return Err(self.invalid(
                            "iris.vector_element_type",
                            "expected FLOAT, DOUBLE or DECIMAL",
                        ));
                    }
                    v
                },
            },
            python,
            worker_script: self.opt_str("bridge.worker_script").map(PathBuf::from),
            batch_rows: self.positive("bridge.batch_rows", "a number of rows")?,
            worker_start_timeout: self.millis("bridge.start_timeout_ms")?,
            pool_mode,
            pool_min_size,
            pool_max_size,
            pool_acquire_timeout: self.millis("pool.acquire_timeout_ms")?,
            worker_max_age: Duration::from_secs(
                self.positive("pool.worker_max_age_s", "a number of seconds")?,
            ),
            worker_max_uses: self.positive("pool.worker_max_uses", "a number")?,
            max_client_connections: self.positive("server.max_client_connections", "a number")?,
            max_connections_per_user: self.parse("server.max_connections_per_user", "a number")?,
            max_connections_per_database: self
                .parse("server.max_connections_per_database", "a number")?,
            client_idle_timeout: self.opt_millis("server.client_idle_timeout_ms")?,
            idle_in_transaction_session_timeout: self
                .opt_millis("server.idle_in_transaction_session_timeout_ms")?,
            statement_timeout: self.opt_millis("server.statement_timeout_ms")?,
            cancel_grace: self.millis("server.cancel_grace_ms")?,
            cancel_rate_per_s: self.positive("server.cancel_rate_per_s", "a number")?,
            shutdown_timeout: self.millis("server.shutdown_timeout_ms")?,
            admin_users: self
                .raw("server.admin_users")
                .0
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
            retry_initial: self.millis("bridge.retry_initial_ms")?,
            retry_max: self.millis("bridge.retry_max_ms")?,
            settings: self
                .values
                .iter()
                .map(|(k, (v, s))| (k.clone(), (v.clone(), s.to_string())))
                .collect(),
            tls_cert_file,
            tls_key_file,
            users: self.users.clone(),
            log_format,
            log_level,
            translation_cache_size: self.positive("translation.cache_size", "a number")?,
            health_probe_timeout: self.millis("health.probe_timeout_ms")?,
            health_cache: Duration::from_millis(
                self.parse("health.cache_ms", "a number of milliseconds")?,
            ),
            health_probe_database: self.raw("health.probe_database").0.trim().to_owned(),
            slow_query: Duration::from_millis(
                self.parse("log.slow_query_ms", "a number of milliseconds")?,
            ),
            log_statement_max_len: self.parse("log.statement_max_len", "a number of characters")?,
            metrics_enabled: self.parse("metrics.enabled", "true or false")?,
            worker_max_statement_bytes: self
                .positive("bridge.recycle_after_statement_bytes", "a number of bytes")?,
            translation_cache_bytes: self
                .positive("translation.cache_bytes", "a number of bytes")?,
            translation_max_cached_statement: self.parse(
                "translation.max_cached_statement_bytes",
                "a number of bytes",
            )?,
            login_timeout: self.millis("server.login_timeout_ms")?,
            max_pending_logins: self.positive("server.max_pending_logins", "a number")?,
            max_message_size: {
                let v: usize = self.positive("server.max_message_size", "a number of bytes")?;
                // Below this not even the start-up limit fits; above 1 GiB
                // the protocol's own length word gives out.
                if !(10_000..=0x3fff_ffff).contains(&v) {
                    return Err(self.invalid(
                        "server.max_message_size",
                        "must be between 10000 and 1073741823 bytes",
                    ));
                }
                v
            },
        };
        cfg.check_rules()?;
        Ok(cfg)
    }
}

fn parse_user(v: &toml::Value, source: &Source) -> Result<User, ConfigError> {
    let bad = |reason: &str| ConfigError::Invalid {
        key: "users".into(),
        value: v.to_string(),
        origin: source.clone(),
        reason: reason.into(),
    };
    let t = v.as_table().ok_or_else(|| bad("expected a table"))?;
    let name = t
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("missing name"))?;
    let secret = t
        .get("password")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("missing password (a SCRAM verifier from `iriswire passwd`)"))?;
    if !(secret.starts_with("SCRAM-SHA-256$") || (secret.starts_with("md5") && secret.len() == 35))
    {
        return Err(bad(
            "password must be a SCRAM-SHA-256 verifier or an md5 hash, never plain text; create one with `iriswire passwd USER`",
        ));
    }
    let admin = t.get("admin").and_then(|v| v.as_bool()).unwrap_or(false);
    Ok(User {
        name: name.to_owned(),
        secret: secret.to_owned(),
        admin,
    })
}

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
    "tls.cert_file",
    "tls.key_file",
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

    /// Keeps `old`'s values of the settings a reload cannot apply.
    pub fn keep_restart_settings(&mut self, old: &Config) {
        self.listen = old.listen;
        self.http_listen = old.http_listen;
        self.data_dir = old.data_dir.clone();
        self.backend = old.backend;
        self.backend_defaulted = old.backend_defaulted;
        self.iris = old.iris.clone();
        self.python = old.python.clone();
        self.worker_script = old.worker_script.clone();
        self.batch_rows = old.batch_rows;
        self.pool_mode = old.pool_mode;
        self.tls_cert_file = old.tls_cert_file.clone();
        self.tls_key_file = old.tls_key_file.clone();
        self.log_format = old.log_format;
        self.translation_cache_size = old.translation_cache_size;
        self.translation_cache_bytes = old.translation_cache_bytes;
        self.translation_max_cached_statement = old.translation_max_cached_statement;
        self.metrics_enabled = old.metrics_enabled;
        for key in RESTART_KEYS {
            match old.settings.get(*key) {
                Some(v) => self.settings.insert((*key).to_owned(), v.clone()),
                None => self.settings.remove(*key),
            };
        }
    }

    /// May `user` open the `iriswire` admin console?
    pub fn is_admin(&self, user: &str) -> bool {
        if self.users.is_empty() {
            self.admin_users.iter().any(|u| u == user)
        } else {
            self.users.iter().any(|u| u.name == user && u.admin)
                || self.admin_users.iter().any(|u| u == user)
        }
    }

    fn check_rules(&self) -> Result<(), ConfigError> {
        if self.users.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Rule(format!(
                "refusing to listen on {} without users: trust authentication is only allowed on loopback addresses; add [[users]] entries (see `iriswire passwd`)",
                self.listen
            )));
        }
        Ok(())
    }

    /// The PostgreSQL `database` name used when the client sends none.
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
    fn flags_beat_env_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[pool]\nmax_size = 3\nmin_size = 1\n").unwrap();
        let e = env(&[("IRISWIRE_POOL_MAX_SIZE", "5")]);
        let c = Config::load_from(Some(&file), &e, &Overrides::default()).unwrap();
        assert_eq!((c.pool_max_size, c.pool_min_size), (5, 1));
        let mut o = Overrides::default();
        o.set("pool.max_size", "pool-max-size", Some("7".into()));
        let c = Config::load_from(Some(&file), &e, &o).unwrap();
        assert_eq!(c.pool_max_size, 7);
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
}
