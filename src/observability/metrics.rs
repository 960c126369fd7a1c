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
    handle: PrometheusHandle,
    /// Indexed by `Command as usize * 2 + failed as usize`.
    queries: Vec<QueryHandles>,
    errors: HashMap<&'static str, Counter>,
    pub rows_returned: Counter,
    pub connections_accepted: Counter,
    pub connections_current: Gauge,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

impl Metrics {
    /// Installs the global recorder (once per process) and registers every
    /// handle the hot path uses.
    pub fn install() -> &'static Metrics {
        METRICS.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("static, non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("the only recorder of this process");
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
                handle,
                queries,
                errors,
                rows_returned: metrics::counter!("iriswire_rows_returned_total"),
                connections_accepted: metrics::counter!(
                    "iriswire_client_connections_accepted_total"
                ),
                connections_current: metrics::gauge!("iriswire_client_connections"),
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

    pub fn render(&self) -> String {
        self.handle.render()
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
}
