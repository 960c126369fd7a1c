//! Prometheus metrics, rendered by `metrics-exporter-prometheus` inside our
//! own HTTP server. Handles are resolved once here, never per query.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::translate::StatementKind;

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

    pub fn of(kind: &StatementKind) -> Command {
        match kind {
            StatementKind::Select => Command::Select,
            StatementKind::Insert => Command::Insert,
            StatementKind::Update => Command::Update,
            StatementKind::Delete => Command::Delete,
            StatementKind::Ddl => Command::Ddl,
            StatementKind::Begin | StatementKind::Commit | StatementKind::Rollback => {
                Command::Transaction
            }
            _ => Command::Other,
        }
    }

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
    pub connections_current: Gauge,
    pub translation_hits: Counter,
    pub translation_misses: Counter,
    pub translation_duration: Histogram,
    pub pool_wait: Histogram,
    pub pool_wait_timeouts: Counter,
    pub worker_starts: Counter,
    pub worker_exits_crash: Counter,
    pub worker_exits_recycle: Counter,
    pub backend_up: Gauge,
    pub backend_probe_duration: Histogram,
    pool_workers_idle: Gauge,
    pool_workers_busy: Gauge,
    pool_clients_waiting: Gauge,
    pool_max_workers: Gauge,
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
            metrics::gauge!("iriswire_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Metrics {
                enabled,
                handle,
                queries,
                errors,
                rows_returned: metrics::counter!("iriswire_rows_returned_total"),
                connections_accepted: metrics::counter!(
                    "iriswire_client_connections_accepted_total"
                ),
                connections_current: metrics::gauge!("iriswire_client_connections"),
                translation_hits: metrics::counter!("iriswire_translation_cache_hits_total"),
                translation_misses: metrics::counter!("iriswire_translation_cache_misses_total"),
                translation_duration: metrics::histogram!("iriswire_translation_duration_seconds"),
                pool_wait: metrics::histogram!("iriswire_pool_wait_duration_seconds"),
                pool_wait_timeouts: metrics::counter!("iriswire_pool_wait_timeouts_total"),
                worker_starts: metrics::counter!("iriswire_worker_starts_total"),
                worker_exits_crash: metrics::counter!("iriswire_worker_exits_total", "reason" => "crash"),
                worker_exits_recycle: metrics::counter!("iriswire_worker_exits_total", "reason" => "recycle"),
                backend_up: metrics::gauge!("iriswire_backend_up"),
                backend_probe_duration: metrics::histogram!("iriswire_backend_probe_duration_seconds"),
                pool_workers_idle: metrics::gauge!("iriswire_pool_workers", "state" => "idle"),
                pool_workers_busy: metrics::gauge!("iriswire_pool_workers", "state" => "busy"),
                pool_clients_waiting: metrics::gauge!("iriswire_pool_clients_waiting"),
                pool_max_workers: metrics::gauge!("iriswire_pool_max_workers"),
            }
        })
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

    pub fn error(&self, sqlstate: &str) {
        let class = sqlstate.get(..2).unwrap_or("XX");
        self.errors
            .get(class)
            .or_else(|| self.errors.get("XX"))
            .expect("XX is registered")
            .increment(1);
    }

    /// The exposition text: the recorder's metrics, pool gauges read now,
    /// and the standard `process_*` metrics from /proc.
    pub fn render(&self, pools: &crate::pool::PoolRegistry, max_per_pool: usize) -> String {
        if !self.enabled {
            return String::new();
        }
        let (mut idle, mut busy, mut waiting, mut max) = (0, 0, 0, 0);
        for (_, st) in pools.statuses() {
            idle += st.available;
            busy += st.size - st.available.min(st.size);
            waiting += st.waiting;
            max += max_per_pool;
        }
        self.pool_workers_idle.set(idle as f64);
        self.pool_workers_busy.set(busy as f64);
        self.pool_clients_waiting.set(waiting as f64);
        self.pool_max_workers.set(max as f64);
        let mut text = self.handle.render();
        process_metrics(&mut text);
        text
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

/// `process_cpu_seconds_total` (a float counter, which the `metrics` crate
/// cannot express), `process_resident_memory_bytes` and `process_open_fds`,
/// named as Prometheus' client libraries name them.
fn process_metrics(out: &mut String) {
    use std::fmt::Write;
    let hz = 100.0; // USER_HZ, fixed at 100 on Linux
    let page = 4096.0;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let cpu = (field(11) + field(12)) / hz;
        let rss = field(21) * page;
        let _ = write!(
            out,
            "# HELP process_cpu_seconds_total User and system CPU time of the iriswire process.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}\n\
             # HELP process_resident_memory_bytes Resident memory of the iriswire process.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}\n"
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let _ = write!(
            out,
            "# HELP process_open_fds Open file descriptors of the iriswire process.\n\
             # TYPE process_open_fds gauge\nprocess_open_fds {}\n",
            fds.count()
        );
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
        "Client connections open now."
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
        "Bridge workers taken out of a pool, by reason (crash, recycle)."
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
        "Bridge workers in all pools, by state (idle, busy)."
    );
    describe_gauge!(
        "iriswire_pool_clients_waiting",
        "Sessions waiting for a bridge worker."
    );
    describe_gauge!(
        "iriswire_pool_max_workers",
        "Configured maximum workers, summed over pools."
    );
}
