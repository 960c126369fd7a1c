//! One struct per TOML table (`[iris]`, `[bridge]`, `[pool]`, …).
//!
//! Each section lists its keys with their defaults (`DEFAULTS`, the source
//! of truth for which keys exist) and parses itself from the layered values
//! through a [`Table`], so a bad value is reported with its full key, value
//! and source. Durations are `Duration`s; the key's unit suffix (`_ms`,
//! `_s`) is dropped from the field name.

use std::path::PathBuf;
use std::time::Duration;

use super::BackendKind;
use super::error::ConfigError;
use super::layers::Table;

/// The element types IRIS's `VECTOR` takes for pgvector's values
/// (`iris.vector_element_type`).
pub const VECTOR_ELEMENT_TYPES: &[&str] = &["FLOAT", "DOUBLE", "DECIMAL"];

/// `[iris]`: where and how to reach IRIS.
#[derive(Debug, Clone)]
pub struct IrisConfig {
    pub host: Option<String>,
    pub port: u16,
    pub namespace: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub schema: String,
    /// Element type of `VECTOR(...)` columns and `TO_VECTOR` on IRIS,
    /// upper-cased, one of [`VECTOR_ELEMENT_TYPES`].
    pub vector_element_type: String,
}

impl IrisConfig {
    pub(super) const TABLE: &'static str = "iris";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("host", ""),
        ("port", "1972"),
        ("namespace", "USER"),
        ("username", ""),
        ("password", ""),
        ("schema", "SQLUser"),
        ("vector_element_type", "FLOAT"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        let vector_element_type = t.trimmed("vector_element_type").to_ascii_uppercase();
        let port = t.parse("port", "a port number")?;
        if !VECTOR_ELEMENT_TYPES.contains(&vector_element_type.as_str()) {
            return Err(t.invalid("vector_element_type", "expected FLOAT, DOUBLE or DECIMAL"));
        }
        Ok(IrisConfig {
            host: t.opt_str("host"),
            port,
            namespace: t.raw("namespace").to_owned(),
            username: t.opt_str("username"),
            password: t.opt_str("password"),
            schema: t.raw("schema").to_owned(),
            vector_element_type,
        })
    }
}

/// `[bridge]`: the Python worker processes that run statements.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Interpreter for workers: `python3`, or `irispython` for `iris-embedded`.
    pub python: String,
    /// The worker package's directory; `None`: the copy built into the binary.
    pub worker_script: Option<PathBuf>,
    /// Rows per result frame.
    pub batch_rows: u32,
    pub start_timeout: Duration,
    /// Backoff after a failed worker start: doubles from `retry_initial` up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// A worker that ran a statement larger than this many bytes is retired
    /// when it goes back to the pool.
    pub recycle_after_statement_bytes: usize,
}

impl BridgeConfig {
    pub(super) const TABLE: &'static str = "bridge";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("python", ""),
        ("worker_script", ""),
        ("batch_rows", "512"),
        ("start_timeout_ms", "15000"),
        ("retry_initial_ms", "250"),
        ("retry_max_ms", "30000"),
        ("recycle_after_statement_bytes", "16777216"),
    ];

    /// `backend` picks the interpreter when `python` is not set.
    pub(super) fn parse(t: &Table<'_>, backend: BackendKind) -> Result<Self, ConfigError> {
        let python = t.opt_str("python").unwrap_or_else(|| {
            if backend == BackendKind::IrisEmbedded {
                "irispython".into()
            } else {
                "python3".into()
            }
        });
        // Compared as plain numbers first, so this rule is what a too-large
        // initial delay reports, whatever else is wrong with either value.
        if t.parse::<u64>("retry_initial_ms", "a number")?
            > t.parse::<u64>("retry_max_ms", "a number")?
        {
            return Err(t.invalid("retry_initial_ms", "must not exceed bridge.retry_max_ms"));
        }
        Ok(BridgeConfig {
            python,
            worker_script: t.opt_str("worker_script").map(PathBuf::from),
            batch_rows: t.positive("batch_rows", "a number of rows")?,
            start_timeout: t.millis("start_timeout_ms")?,
            retry_initial: t.millis("retry_initial_ms")?,
            retry_max: t.millis("retry_max_ms")?,
            recycle_after_statement_bytes: t
                .positive("recycle_after_statement_bytes", "a number of bytes")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    /// A client keeps its worker for the whole connection.
    Session,
    /// A client holds a worker only while in a transaction.
    Transaction,
}

/// `[pool]`: workers per (database, user).
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub mode: PoolMode,
    /// Workers started in the background when the pool is first used.
    pub min_size: usize,
    pub max_size: usize,
    /// How long a client waits for a free worker before 53300.
    pub acquire_timeout: Duration,
    /// Workers older than this are recycled.
    pub worker_max_age: Duration,
    /// Workers are recycled after this many statements.
    pub worker_max_uses: u64,
    /// Live workers across all pools (each is a backend session and a
    /// Python process).
    pub max_total_workers: usize,
    /// Idle workers above `min_size` are shut down after this long; zero
    /// keeps them.
    pub idle_timeout: Duration,
}

impl PoolConfig {
    pub(super) const TABLE: &'static str = "pool";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("mode", "session"),
        ("min_size", "0"),
        ("max_size", "16"),
        ("acquire_timeout_ms", "5000"),
        ("worker_max_age_s", "3600"),
        ("worker_max_uses", "1000000"),
        ("max_total_workers", "64"),
        ("idle_timeout_ms", "600000"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        let mode = match t.trimmed("mode") {
            "session" => PoolMode::Session,
            "transaction" => PoolMode::Transaction,
            _ => return Err(t.invalid("mode", "expected session or transaction")),
        };
        let min_size: usize = t.parse("min_size", "a number")?;
        let max_size: usize = t.positive("max_size", "a number")?;
        if min_size > max_size {
            return Err(t.invalid("min_size", "must not exceed pool.max_size"));
        }
        Ok(PoolConfig {
            mode,
            min_size,
            max_size,
            acquire_timeout: t.millis("acquire_timeout_ms")?,
            worker_max_age: Duration::from_secs(
                t.positive("worker_max_age_s", "a number of seconds")?,
            ),
            worker_max_uses: t.positive("worker_max_uses", "a number")?,
            max_total_workers: t.positive("max_total_workers", "a number")?,
            idle_timeout: t.opt_millis("idle_timeout_ms")?,
        })
    }
}

/// `[server]`: client connections, their limits and timeouts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Logged-in client connections (admin-console logins not counted).
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
    /// Start-up and authentication must finish within this.
    pub login_timeout: Duration,
    /// Connections still logging in; the oldest is closed to admit a new one.
    pub max_pending_logins: usize,
    /// The largest message a logged-in client may send, in bytes.
    pub max_message_size: usize,
}

impl ServerConfig {
    pub(super) const TABLE: &'static str = "server";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("max_client_connections", "1000"),
        ("max_connections_per_user", "0"),
        ("max_connections_per_database", "0"),
        ("client_idle_timeout_ms", "0"),
        ("idle_in_transaction_session_timeout_ms", "0"),
        ("statement_timeout_ms", "0"),
        ("cancel_grace_ms", "500"),
        ("cancel_rate_per_s", "20"),
        ("shutdown_timeout_ms", "30000"),
        ("admin_users", ""),
        ("login_timeout_ms", "10000"),
        ("max_pending_logins", "128"),
        ("max_message_size", "67108864"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        Ok(ServerConfig {
            max_client_connections: t.positive("max_client_connections", "a number")?,
            max_connections_per_user: t.parse("max_connections_per_user", "a number")?,
            max_connections_per_database: t.parse("max_connections_per_database", "a number")?,
            client_idle_timeout: t.opt_millis("client_idle_timeout_ms")?,
            idle_in_transaction_session_timeout: t
                .opt_millis("idle_in_transaction_session_timeout_ms")?,
            statement_timeout: t.opt_millis("statement_timeout_ms")?,
            cancel_grace: t.millis("cancel_grace_ms")?,
            cancel_rate_per_s: t.positive("cancel_rate_per_s", "a number")?,
            shutdown_timeout: t.millis("shutdown_timeout_ms")?,
            admin_users: t
                .raw("admin_users")
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
            login_timeout: t.millis("login_timeout_ms")?,
            max_pending_logins: t.positive("max_pending_logins", "a number")?,
            max_message_size: {
                let v: usize = t.positive("max_message_size", "a number of bytes")?;
                // Below this not even the start-up limit fits; above 1 GiB
                // the protocol's own length word gives out.
                if !(10_000..=0x3fff_ffff).contains(&v) {
                    return Err(t.invalid(
                        "max_message_size",
                        "must be between 10000 and 1073741823 bytes",
                    ));
                }
                v
            },
        })
    }
}

/// `tls.mode`: whether clients may, must or cannot use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS, even with a certificate: SSLRequest is answered `N`.
    Disable,
    /// TLS when a certificate is configured, plaintext too (the default).
    Allow,
    /// TLS only: a plaintext start-up is refused with FATAL 28000, as a
    /// `hostssl`-only pg_hba.conf does. Needs a certificate.
    Require,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Allow => "allow",
            TlsMode::Require => "require",
        }
    }
}

/// `tls.min_version`: the oldest TLS version offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

/// `[tls]`: both files or neither; without them clients get no TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub mode: TlsMode,
    pub min_version: TlsVersion,
}

impl TlsConfig {
    pub(super) const TABLE: &'static str = "tls";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("cert_file", ""),
        ("key_file", ""),
        ("mode", "allow"),
        ("min_version", "1.2"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        let cert_file = t.opt_str("cert_file").map(PathBuf::from);
        let key_file = t.opt_str("key_file").map(PathBuf::from);
        if cert_file.is_some() != key_file.is_some() {
            return Err(ConfigError::Rule(
                "tls.cert_file and tls.key_file must be set together".into(),
            ));
        }
        let mode = match t.trimmed("mode") {
            "disable" => TlsMode::Disable,
            "allow" => TlsMode::Allow,
            "require" => TlsMode::Require,
            _ => return Err(t.invalid("mode", "expected disable, allow or require")),
        };
        if mode == TlsMode::Require && cert_file.is_none() {
            return Err(t.invalid(
                "mode",
                "require needs a certificate: set tls.cert_file and tls.key_file",
            ));
        }
        let min_version = match t.trimmed("min_version") {
            "1.2" => TlsVersion::V1_2,
            "1.3" => TlsVersion::V1_3,
            _ => return Err(t.invalid("min_version", "expected 1.2 or 1.3")),
        };
        Ok(TlsConfig {
            cert_file,
            key_file,
            mode,
            min_version,
        })
    }

    /// The certificate and key to serve, unless TLS is disabled or has none.
    pub fn files(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        match (&self.cert_file, &self.key_file, self.mode) {
            (_, _, TlsMode::Disable) => None,
            (Some(c), Some(k), _) => Some((c, k)),
            _ => None,
        }
    }
}

/// `[auth]`: how failed logins are slowed down.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The delay before answering a source address's first failed login;
    /// it doubles with each further failure. Zero: no delay at all.
    pub failure_delay: Duration,
    /// The most a failure's answer is delayed.
    pub failure_delay_max: Duration,
    /// An address with no failure for this long starts again from
    /// `failure_delay`.
    pub failure_cooldown: Duration,
    /// Source addresses remembered at once (the table's memory bound).
    pub max_tracked_addresses: usize,
}

impl AuthConfig {
    pub(super) const TABLE: &'static str = "auth";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("failure_delay_ms", "100"),
        ("failure_delay_max_ms", "5000"),
        ("failure_cooldown_s", "60"),
        ("max_tracked_addresses", "10000"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        let failure_delay = t.opt_millis("failure_delay_ms")?;
        let failure_delay_max = t.opt_millis("failure_delay_max_ms")?;
        if failure_delay > failure_delay_max {
            return Err(t.invalid(
                "failure_delay_ms",
                "must not exceed auth.failure_delay_max_ms",
            ));
        }
        Ok(AuthConfig {
            failure_delay,
            failure_delay_max,
            failure_cooldown: Duration::from_secs(
                t.positive("failure_cooldown_s", "a number of seconds")?,
            ),
            max_tracked_addresses: t.positive("max_tracked_addresses", "a number")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `[log]`: the server's own log.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A level or `tracing` filter (`info,iriswire=debug`), checked at load.
    pub level: String,
    /// Statements taking at least this long are logged; zero logs every one.
    pub slow_query: Duration,
    /// Logged statement text is cut to this many characters.
    pub statement_max_len: usize,
    /// The audit log's own file (one JSON object per line), besides the
    /// `audit=true` lines of the server's log; reopened on reload.
    pub audit_file: Option<PathBuf>,
}

impl LogConfig {
    pub(super) const TABLE: &'static str = "log";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("format", "text"),
        ("level", "info"),
        ("slow_query_ms", "1000"),
        ("statement_max_len", "200"),
        ("audit_file", ""),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        let format = match t.trimmed("format") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(t.invalid("format", "expected text or json")),
        };
        let level = t.trimmed("level").to_owned();
        if tracing_subscriber::EnvFilter::try_new(&level).is_err() {
            return Err(t.invalid(
                "level",
                "expected a level or filter like info,iriswire=debug",
            ));
        }
        Ok(LogConfig {
            format,
            level,
            slow_query: Duration::from_millis(
                t.parse("slow_query_ms", "a number of milliseconds")?,
            ),
            statement_max_len: t.parse("statement_max_len", "a number of characters")?,
            audit_file: t.opt_str("audit_file").map(PathBuf::from),
        })
    }
}

/// `[translation]`: the cache of PostgreSQL → IRIS translations.
#[derive(Debug, Clone)]
pub struct TranslationConfig {
    /// Entries in the translation cache.
    pub cache_size: usize,
    /// Memory budget of the cache (statement text and translation).
    pub cache_bytes: usize,
    /// Statements longer than this are translated each time, never cached.
    pub max_cached_statement_bytes: usize,
}

impl TranslationConfig {
    pub(super) const TABLE: &'static str = "translation";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("cache_size", "4096"),
        ("cache_bytes", "67108864"),
        ("max_cached_statement_bytes", "1048576"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        Ok(TranslationConfig {
            cache_size: t.positive("cache_size", "a number")?,
            cache_bytes: t.positive("cache_bytes", "a number of bytes")?,
            max_cached_statement_bytes: t
                .parse("max_cached_statement_bytes", "a number of bytes")?,
        })
    }
}

/// `[health]`: the `/health` endpoint's backend probe.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub probe_timeout: Duration,
    /// A verdict is reused for this long; zero probes on every request.
    pub cache: Duration,
    /// The database the probe's worker opens.
    pub probe_database: String,
}

impl HealthConfig {
    pub(super) const TABLE: &'static str = "health";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        ("probe_timeout_ms", "2000"),
        ("cache_ms", "1000"),
        ("probe_database", "postgres"),
    ];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        Ok(HealthConfig {
            probe_timeout: t.millis("probe_timeout_ms")?,
            cache: Duration::from_millis(t.parse("cache_ms", "a number of milliseconds")?),
            probe_database: t.trimmed("probe_database").to_owned(),
        })
    }
}

/// `[metrics]`: the Prometheus exporter.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub enabled: bool,
}

impl MetricsConfig {
    pub(super) const TABLE: &'static str = "metrics";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] = &[("enabled", "true")];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        Ok(MetricsConfig {
            enabled: t.parse("enabled", "true or false")?,
        })
    }
}

/// `[sqlite]`: the embedded default.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// Whether a new database name creates a database file; `None`: only
    /// when the server listens on loopback alone.
    pub create_databases: Option<bool>,
}

impl SqliteConfig {
    pub(super) const TABLE: &'static str = "sqlite";
    pub(super) const DEFAULTS: &'static [(&'static str, &'static str)] =
        &[("create_databases", "auto")];

    pub(super) fn parse(t: &Table<'_>) -> Result<Self, ConfigError> {
        Ok(SqliteConfig {
            create_databases: match t.raw("create_databases").trim() {
                "auto" => None,
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    return Err(t.invalid("create_databases", "expected auto, true or false"));
                }
            },
        })
    }
}
