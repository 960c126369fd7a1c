//! Prometheus metrics, rendered by `metrics-exporter-prometheus` inside our
//! own HTTP server. Handles are resolved once here, never per query.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds; from 100 µs (a cached `SELECT 1` is ~200 µs end to end) to 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// The command label: bounded, as PgBouncer-style dashboards group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Select,
    Insert,
    Update,
    Delete,
    Ddl,
    Transaction,
    Other,
}

impl Command {
    const ALL: [Command; 7] = [
        Command::Select,
        Command::Insert,
        Command::Update,
        Command::Delete,
        Command::Ddl,
        Command::Transaction,
        Command::Other,
    ];

    fn label(self) -> &'static str {
        match self {
            Command::Select => "SELECT",
            Command::Insert => "INSERT",
            Command::Update => "UPDATE",
            Command::Delete => "DELETE",
            Command::Ddl => "DDL",
            Command::Transaction => "TRANSACTION",
            Command::Other => "OTHER",
        }
    }
}

/// The `operator` label of the vector metrics: pgvector's distance
/// operators (`<->`, `<=>`, `<#>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorDistance {
    L2,
    Cosine,
    InnerProduct,
}

impl VectorDistance {
    const ALL: [VectorDistance; 3] = [
        VectorDistance::L2,
        VectorDistance::Cosine,
        VectorDistance::InnerProduct,
    ];

    fn label(self) -> &'static str {
        match self {
            VectorDistance::L2 => "l2",
            VectorDistance::Cosine => "cosine",
            VectorDistance::InnerProduct => "inner_product",
        }
    }
}

/// Connection-duration buckets (seconds): from a refused login to a day-long pool connection.
pub const CONNECTION_BUCKETS: &[f64] = &[
    0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
];

/// What became of a CancelRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    NoMatch,
    RateLimited,
}

impl CancelOutcome {
    pub fn label(self) -> &'static str {
        match self {
            CancelOutcome::Cancelled => "cancelled",
            CancelOutcome::NoMatch => "no_match",
            CancelOutcome::RateLimited => "rate_limited",
        }
    }
}

/// How the FATAL 28000 a plaintext login gets under `tls.mode = require`
/// begins (PostgreSQL's words for a pg_hba.conf of `hostssl` lines only):
/// such a refusal is counted as `tls`, not as a failed authentication.
pub const PLAINTEXT_REFUSED: &str = "no pg_hba.conf entry for host";

/// Why a connection was refused before it could run a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Over `max_client_connections` or a per-user or per-database limit.
    Limit,
    /// Authentication failed or the login was refused (unknown database, no admin right).
    Auth,
    /// The TLS handshake failed, or direct TLS without a certificate.
    Tls,
    /// Malformed or incomplete start-up.
    Protocol,
    /// The server is shutting down.
    Shutdown,
}

impl Rejection {
    const ALL: [Rejection; 5] = [
        Rejection::Limit,
        Rejection::Auth,
        Rejection::Tls,
        Rejection::Protocol,
        Rejection::Shutdown,
    ];

    fn label(self) -> &'static str {
        match self {
            Rejection::Limit => "limit",
            Rejection::Auth => "auth",
            Rejection::Tls => "tls",
            Rejection::Protocol => "protocol",
            Rejection::Shutdown => "shutdown",
        }
    }
}

struct QueryHandles {
    duration: Histogram,
    total: Counter,
}

/// SQLSTATE classes PostgreSQL defines; anything else is counted as XX.
const SQLSTATE_CLASSES: &[&str] = &[
    "01", "02", "03", "08", "09", "0A", "0B", "0F", "0L", "0P", "0Z", "20", "21", "22", "23", "24",
    "25", "26", "27", "28", "2B", "2D", "2F", "34", "38", "39", "3B", "3D", "3F", "40", "42", "44",
    "53", "54", "55", "57", "58", "72", "F0", "HV", "P0", "XX",
];

pub struct Metrics {
    enabled: bool,
    handle: PrometheusHandle,
    /// Indexed by `Command as usize * 2 + failed as usize`.
    queries: Vec<QueryHandles>,
    errors: HashMap<&'static str, Counter>,
    pub rows_returned: Counter,
    pub connections_accepted: Counter,
    rejected: Vec<Counter>,
    pub auth_failures: Counter,
    pub connection_duration: Histogram,
    pub idle_session_timeouts: Counter,
    pub idle_in_transaction_timeouts: Counter,
    pub statement_timeouts: Counter,
    cancel_requests: [Counter; 3],
    transactions_commit: Counter,
    transactions_rollback: Counter,
    pub(crate) bytes_received: Counter,
    pub(crate) bytes_sent: Counter,
    pub(crate) max_client_connections: Gauge,
    pub config_reloads_success: Counter,
    pub config_reloads_failure: Counter,
    pub backend_circuit_open: Gauge,
    pub worker_exits_timeout: Counter,
    pub worker_exits_shutdown: Counter,
    pub pool_workers_starting: Gauge,
    /// Indexed by `VectorDistance as usize * 2 + top_k as usize`.
    vector: Vec<QueryHandles>,
    pub translation_hits: Counter,
    pub translation_misses: Counter,
    pub translation_duration: Histogram,
    pub pool_wait: Histogram,
    pub pool_wait_timeouts: Counter,
    pub worker_starts: Counter,
    pub worker_exits_crash: Counter,
    pub worker_exits_recycle: Counter,
    pub worker_exits_idle: Counter,
    pub worker_exits_evicted: Counter,
    pub backend_up: Gauge,
    pub backend_probe_duration: Histogram,
    pub(crate) pool_workers_idle: Gauge,
    pub(crate) pool_workers_busy: Gauge,
    pub(crate) pool_clients_waiting: Gauge,
    pub(crate) pool_max_workers: Gauge,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

impl Metrics {
    /// Installs the global recorder (once per process) and registers every
    /// handle the hot path uses.
    pub fn install() -> &'static Metrics {
        Self::init(true)
    }

    /// Like [`Metrics::install`]; with `enabled` false (`metrics.enabled`)
    /// no recorder is installed, every handle is a no-op and `/metrics` is
    /// empty: the baseline for measuring what metrics cost. The first call
    /// decides.
    pub fn init(enabled: bool) -> &'static Metrics {
        METRICS.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("static, non-empty buckets")
                // Full matchers are consulted before suffix matchers.
                .set_buckets_for_metric(
                    Matcher::Full("iriswire_client_connection_duration_seconds".into()),
                    CONNECTION_BUCKETS,
                )
                .expect("static, non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            if enabled {
                metrics::set_global_recorder(recorder)
                    .expect("the only recorder of this process");
            }
            describe();
            let mut queries = Vec::with_capacity(Command::ALL.len() * 2);
            for command in Command::ALL {
                for outcome in ["ok", "error"] {
                    let labels = [("command", command.label()), ("outcome", outcome)];
                    queries.push(QueryHandles {
                        duration: metrics::histogram!("iriswire_query_duration_seconds", &labels),
                        total: metrics::counter!("iriswire_queries_total", &labels),
                    });
                }
            }
            let errors = SQLSTATE_CLASSES
                .iter()
                .map(|c| {
                    (
                        *c,
                        metrics::counter!("iriswire_errors_total", "sqlstate_class" => *c),
                    )
                })
                .collect();
            Metrics {
                enabled,
                handle,
                queries,
                errors,
                rows_returned: metrics::counter!("iriswire_rows_returned_total"),
                connections_accepted: metrics::counter!(
                    "iriswire_client_connections_accepted_total"
                ),
                rejected: Rejection::ALL
                    .iter()
                    .map(|r| {
                        metrics::counter!(
                            "iriswire_client_connections_rejected_total",
                            "reason" => r.label()
                        )
                    })
                    .collect(),
                auth_failures: metrics::counter!("iriswire_auth_failures_total"),
                connection_duration: metrics::histogram!(
                    "iriswire_client_connection_duration_seconds"
                ),
                idle_session_timeouts: metrics::counter!(
                    "iriswire_client_idle_timeouts_total", "state" => "idle"
                ),
                idle_in_transaction_timeouts: metrics::counter!(
                    "iriswire_client_idle_timeouts_total", "state" => "idle_in_transaction"
                ),
                statement_timeouts: metrics::counter!("iriswire_statement_timeouts_total"),
                cancel_requests: [
                    CancelOutcome::Cancelled,
                    CancelOutcome::NoMatch,
                    CancelOutcome::RateLimited,
                ]
                .map(|o| metrics::counter!("iriswire_cancel_requests_total", "outcome" => o.label())),
                transactions_commit: metrics::counter!(
                    "iriswire_transactions_total", "outcome" => "commit"
                ),
                transactions_rollback: metrics::counter!(
                    "iriswire_transactions_total", "outcome" => "rollback"
                ),
                bytes_received: metrics::counter!("iriswire_client_received_bytes_total"),
                bytes_sent: metrics::counter!("iriswire_client_sent_bytes_total"),
                max_client_connections: metrics::gauge!("iriswire_max_client_connections"),
                config_reloads_success: metrics::counter!(
                    "iriswire_config_reloads_total", "outcome" => "success"
                ),
                config_reloads_failure: metrics::counter!(
                    "iriswire_config_reloads_total", "outcome" => "failure"
                ),
                backend_circuit_open: metrics::gauge!("iriswire_backend_circuit_open"),
                worker_exits_timeout: metrics::counter!(
                    "iriswire_worker_exits_total", "reason" => "timeout"
                ),
                worker_exits_shutdown: metrics::counter!(
                    "iriswire_worker_exits_total", "reason" => "shutdown"
                ),
                pool_workers_starting: metrics::gauge!(
                    "iriswire_pool_workers", "state" => "starting"
                ),
                vector: VectorDistance::ALL
                    .iter()
                    .flat_map(|op| {
                        ["false", "true"].map(|top_k| {
                            let labels = [("operator", op.label()), ("top_k", top_k)];
                            QueryHandles {
                                duration: metrics::histogram!(
                                    "iriswire_vector_query_duration_seconds",
                                    &labels
                                ),
                                total: metrics::counter!("iriswire_vector_queries_total", &labels),
                            }
                        })
                    })
                    .collect(),
                translation_hits: metrics::counter!("iriswire_translation_cache_hits_total"),
                translation_misses: metrics::counter!("iriswire_translation_cache_misses_total"),
                translation_duration: metrics::histogram!("iriswire_translation_duration_seconds"),
                pool_wait: metrics::histogram!("iriswire_pool_wait_duration_seconds"),
                pool_wait_timeouts: metrics::counter!("iriswire_pool_wait_timeouts_total"),
                worker_starts: metrics::counter!("iriswire_worker_starts_total"),
                worker_exits_crash: metrics::counter!("iriswire_worker_exits_total", "reason" => "crash"),
                worker_exits_recycle: metrics::counter!("iriswire_worker_exits_total", "reason" => "recycle"),
                worker_exits_idle: metrics::counter!("iriswire_worker_exits_total", "reason" => "idle"),
                worker_exits_evicted: metrics::counter!("iriswire_worker_exits_total", "reason" => "evicted"),
                backend_up: metrics::gauge!("iriswire_backend_up"),
                backend_probe_duration: metrics::histogram!("iriswire_backend_probe_duration_seconds"),
                pool_workers_idle: metrics::gauge!("iriswire_pool_workers", "state" => "idle"),
                pool_workers_busy: metrics::gauge!("iriswire_pool_workers", "state" => "busy"),
                pool_clients_waiting: metrics::gauge!("iriswire_pool_clients_waiting"),
                pool_max_workers: metrics::gauge!("iriswire_pool_max_workers"),
            }
        })
    }

    /// `iriswire_build_info{version,backend}`, once the backend is known.
    pub fn build_info(&self, backend: &'static str) {
        metrics::gauge!(
            "iriswire_build_info",
            "version" => env!("CARGO_PKG_VERSION"),
            "backend" => backend
        )
        .set(1.0);
    }

    /// One finished statement.
    pub fn query(&self, command: Command, elapsed: Duration, sqlstate: Option<&str>) {
        let q = &self.queries[command as usize * 2 + sqlstate.is_some() as usize];
        q.duration.record(elapsed.as_secs_f64());
        q.total.increment(1);
        if let Some(code) = sqlstate {
            self.error(code);
        }
    }

    /// A statement (or Execute) that used a pgvector distance operator.
    pub fn vector_query(&self, op: VectorDistance, top_k: bool, elapsed: Duration) {
        let h = &self.vector[op as usize * 2 + top_k as usize];
        h.duration.record(elapsed.as_secs_f64());
        h.total.increment(1);
    }

    pub fn rejected(&self, why: Rejection) {
        self.rejected[why as usize].increment(1);
    }

    /// A login that ended in a FATAL error. A failed authentication
    /// (SQLSTATE class 28) also counts in `iriswire_auth_failures_total`.
    pub fn login_refused(&self, e: &pgwire::error::PgWireError) {
        let why = rejection_of(e);
        if why == Rejection::Auth && e.code().starts_with("28") {
            self.auth_failures.increment(1);
        }
        self.rejected(why);
    }

    pub fn cancel_request(&self, outcome: CancelOutcome) {
        self.cancel_requests[outcome as usize].increment(1);
    }

    pub fn transaction_ended(&self, committed: bool) {
        if committed {
            self.transactions_commit.increment(1)
        } else {
            self.transactions_rollback.increment(1)
        }
    }

    pub fn error(&self, sqlstate: &str) {
        let class = sqlstate.get(..2).unwrap_or("XX");
        self.errors
            .get(class)
            .or_else(|| self.errors.get("XX"))
            .expect("XX is registered")
            .increment(1);
    }

    /// The exposition text of everything recorded (empty when metrics are
    /// off). Gauges read at scrape time are set by the HTTP side first.
    pub fn exposition(&self) -> Option<String> {
        self.enabled.then(|| self.handle.render())
    }

    /// Drains histogram buffers so memory stays flat between scrapes.
    pub fn spawn_upkeep(&'static self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                self.handle.run_upkeep();
            }
        });
    }
}

/// The rejection reason of a login that ended in a FATAL error.
fn rejection_of(e: &pgwire::error::PgWireError) -> Rejection {
    use pgwire::error::PgWireError;
    match e {
        PgWireError::UserError(info) => match info.code.as_str() {
            "53300" => Rejection::Limit,
            "57P01" | "57P03" => Rejection::Shutdown,
            "28000" if info.message.starts_with(PLAINTEXT_REFUSED) => Rejection::Tls,
            c if c.starts_with("28") || c == "3D000" || c == "42501" => Rejection::Auth,
            _ => Rejection::Protocol,
        },
        PgWireError::InvalidPassword(_) => Rejection::Auth,
        _ => Rejection::Protocol,
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "iriswire_query_duration_seconds",
        Unit::Seconds,
        "Statement latency from receipt to completion, by command and outcome."
    );
    describe_counter!(
        "iriswire_queries_total",
        "Statements run, by command and outcome."
    );
    describe_counter!(
        "iriswire_errors_total",
        "Errors sent to clients, by SQLSTATE class (two characters)."
    );
    describe_counter!("iriswire_rows_returned_total", "Rows sent to clients.");
    describe_counter!(
        "iriswire_client_connections_accepted_total",
        "Client TCP connections accepted."
    );
    describe_gauge!(
        "iriswire_client_connections",
        "Client connections open now, by state (login, active, idle, idle_in_transaction, waiting)."
    );
    describe_counter!(
        "iriswire_client_connections_rejected_total",
        "Connections refused before running a statement, by reason (limit, auth, tls, protocol, shutdown)."
    );
    describe_counter!(
        "iriswire_auth_failures_total",
        "Logins that failed authentication (SQLSTATE class 28)."
    );
    describe_histogram!(
        "iriswire_client_connection_duration_seconds",
        Unit::Seconds,
        "Lifetime of client connections, recorded when they close."
    );
    describe_counter!(
        "iriswire_client_idle_timeouts_total",
        "Connections closed by client_idle_timeout (state idle) or idle_in_transaction_session_timeout."
    );
    describe_counter!(
        "iriswire_statement_timeouts_total",
        "Statements stopped by statement_timeout (57014)."
    );
    describe_counter!(
        "iriswire_cancel_requests_total",
        "CancelRequests received, by outcome (cancelled, no_match, rate_limited)."
    );
    describe_counter!(
        "iriswire_transactions_total",
        "Transactions ended, by outcome (commit, rollback); an autocommit statement is one transaction."
    );
    describe_counter!(
        "iriswire_client_received_bytes_total",
        Unit::Bytes,
        "Bytes received from clients (TCP payload, kernel counters)."
    );
    describe_counter!(
        "iriswire_client_sent_bytes_total",
        Unit::Bytes,
        "Bytes sent to clients and acknowledged (TCP payload, kernel counters)."
    );
    describe_gauge!(
        "iriswire_max_client_connections",
        "Configured server.max_client_connections."
    );
    describe_counter!(
        "iriswire_config_reloads_total",
        "Configuration reloads, by outcome (success, failure)."
    );
    describe_counter!(
        "iriswire_vector_queries_total",
        "Statements using a pgvector distance operator, by operator (l2, cosine, inner_product) and top_k (ORDER BY distance LIMIT k form)."
    );
    describe_histogram!(
        "iriswire_vector_query_duration_seconds",
        Unit::Seconds,
        "Latency of statements using a pgvector distance operator, by operator and top_k."
    );
    describe_gauge!(
        "iriswire_backend_circuit_open",
        "1 while worker starts are failing and new ones are held back (backoff)."
    );
    describe_gauge!(
        "iriswire_build_info",
        "Always 1; the labels name the build."
    );
    describe_counter!(
        "iriswire_translation_cache_hits_total",
        "Statements found translated in the cache."
    );
    describe_counter!(
        "iriswire_translation_cache_misses_total",
        "Statements translated anew."
    );
    describe_histogram!(
        "iriswire_translation_duration_seconds",
        Unit::Seconds,
        "Time to translate a statement not in the cache."
    );
    describe_histogram!(
        "iriswire_pool_wait_duration_seconds",
        Unit::Seconds,
        "Time a session waited for a bridge worker (including starting one)."
    );
    describe_counter!(
        "iriswire_pool_wait_timeouts_total",
        "Waits for a worker that ended in 53300."
    );
    describe_counter!("iriswire_worker_starts_total", "Bridge workers started.");
    describe_counter!(
        "iriswire_worker_exits_total",
        "Bridge workers taken out of a pool, by reason (crash, recycle, timeout, shutdown, idle, evicted)."
    );
    describe_gauge!(
        "iriswire_backend_up",
        "1 if the last readiness probe reached the backend."
    );
    describe_histogram!(
        "iriswire_backend_probe_duration_seconds",
        Unit::Seconds,
        "Duration of readiness probes against the backend."
    );
    describe_gauge!(
        "iriswire_pool_workers",
        "Bridge workers in all pools, by state (idle, busy, starting)."
    );
    describe_gauge!(
        "iriswire_pool_clients_waiting",
        "Sessions waiting for a bridge worker."
    );
    describe_gauge!(
        "iriswire_pool_max_workers",
        "Most workers this server may run: pool.max_size summed over pools, capped by pool.max_total_workers."
    );
}
