//! The query handler: the state every protocol path shares (the server
//! state, the metrics handles) and what each statement ends with (metrics,
//! the slow-query log). The protocols themselves are in `simple`,
//! `extended` and `describe`.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::CommandComplete;

use super::transaction::{in_transaction, note_failure};
use crate::frontend::columns::ResultColumn;
use crate::frontend::errors::error;
use crate::frontend::errors::{INTERNAL_ERROR, PROTOCOL_VIOLATION};
use crate::frontend::lease::release_if_idle;
use crate::frontend::session::{Session, SessionSlot};
use crate::frontend::session_sql::PreparedSessionSql;
use crate::frontend::stream::StreamEnd;
use crate::state::Shared;
use crate::telemetry::{Command, Metrics, VectorDistance};
use crate::translate::{StatementKind, Translation, VectorOp, VectorUse};

/// A statement prepared with Parse.
#[derive(Debug)]
pub struct PreparedStatement {
    /// The client's text, for the slow-query log.
    pub sql: Arc<str>,
    pub translation: Arc<Translation>,
    pub param_types: Vec<Type>,
    /// `None`: the backend cannot say before running it.
    pub columns: Option<Arc<Vec<ResultColumn>>>,
    /// Session SQL (PREPARE, EXECUTE, DECLARE, FETCH, ...): run by
    /// iriswire itself at Execute.
    pub session_sql: Option<Arc<PreparedSessionSql>>,
    /// A COPY statement: what it runs (Execute hands it to `copy`).
    pub(crate) copy: Option<Arc<crate::frontend::copy::plan::CopyPlan>>,
}

pub type Statement = Arc<PreparedStatement>;

/// Required by pgwire's trait; iriswire parses in its own `on_parse`.
pub struct UnusedParser;

#[async_trait]
impl QueryParser for UnusedParser {
    type Statement = Statement;
    async fn parse_sql<C>(
        &self,
        _: &C,
        _: &str,
        _: &[Option<Type>],
    ) -> PgWireResult<Option<Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Err(error(INTERNAL_ERROR, "internal: parse_sql is not used"))
    }
    fn get_parameter_types(&self, s: &Statement) -> PgWireResult<Vec<Type>> {
        Ok(s.param_types.clone())
    }
    fn get_result_schema(&self, _: &Statement, _: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(vec![])
    }
}

pub struct Handler {
    pub shared: Arc<Shared>,
    pub(super) parser: Arc<UnusedParser>,
    pub(super) metrics: &'static Metrics,
}

impl Handler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Handler {
            shared,
            parser: Arc::new(UnusedParser),
            metrics: Metrics::install(),
        }
    }
}

impl Handler {
    pub(super) fn after_statement(
        &self,
        s: &mut Session,
        t: &Translation,
        end: StreamEnd,
    ) -> PgWireResult<()> {
        match end {
            StreamEnd::Complete { rows, .. } => {
                if t.kind == StatementKind::Select || t.returning {
                    self.metrics.rows_returned.increment(rows as u64);
                }
                if t.kind == StatementKind::Ddl {
                    self.shared.schema_changed();
                    // A temporary table, say: reset before the worker
                    // serves another session.
                    if let Some(w) = s.worker.as_mut() {
                        w.needs_reset = true;
                    }
                }
                // ROLLBACK, COMMIT and ROLLBACK TO SAVEPOINT end the aborted state.
                if matches!(t.kind, StatementKind::Rollback | StatementKind::Commit)
                    || t.tag == "ROLLBACK"
                {
                    s.failed = false;
                }
                if !s.worker.as_ref().is_some_and(|w| w.in_transaction) {
                    // Out of any transaction: an autocommit statement or an
                    // explicit end; counted as PostgreSQL's xact_commit/rollback do.
                    self.metrics
                        .transaction_ended(t.kind != StatementKind::Rollback);
                    if let Some(st) = &s.stats {
                        st.transaction();
                    }
                    s.end_transaction();
                }
                release_if_idle(&self.shared, s);
                Ok(())
            }
            StreamEnd::Suspended => Ok(()),
            StreamEnd::Failed(e) => {
                let was_in_transaction = in_transaction(s);
                if s.worker.as_mut().is_some_and(|w| !w.is_healthy()) {
                    // Dropped, not recycled: the pool replaces it. A
                    // transaction it held is gone: the client must roll back.
                    s.release_worker();
                    s.failed = was_in_transaction;
                } else {
                    note_failure(s);
                }
                if !in_transaction(s) {
                    self.metrics.transaction_ended(false);
                    if let Some(st) = &s.stats {
                        st.transaction();
                    }
                    s.end_transaction();
                }
                release_if_idle(&self.shared, s);
                Err(e)
            }
        }
    }

    /// Holds a statement at its start while the server is paused (`PAUSE`).
    pub(super) async fn wait_unpaused(&self, s: &Session) {
        let lifecycle = &self.shared.lifecycle;
        if lifecycle.is_paused() {
            if let Some(c) = &s.client {
                c.set_state(crate::state::clients::ClientState::Waiting);
            }
            lifecycle.wait_unpaused().await;
            if let Some(c) = &s.client {
                c.set_state(crate::state::clients::ClientState::Active);
            }
        }
    }

    /// Metrics for every statement; a log line for slow ones. Parameter
    /// values are never logged, only the statement text, cut short.
    pub(super) fn finished(
        &self,
        command: Command,
        elapsed: std::time::Duration,
        r: &PgWireResult<()>,
        user: &str,
        sql: &str,
    ) {
        let sqlstate = sqlstate_of(r);
        self.metrics.query(command, elapsed, sqlstate);
        let cfg = self.shared.config();
        if elapsed >= cfg.log.slow_query {
            let cut = sql
                .char_indices()
                .nth(cfg.log.statement_max_len)
                .map_or(sql.len(), |(i, _)| i);
            tracing::warn!(
                duration_ms = elapsed.as_secs_f64() * 1e3,
                sqlstate = sqlstate.unwrap_or("00000"),
                user,
                statement = &sql[..cut],
                "slow query"
            );
        }
    }
}

/// The SQLSTATE of a failed statement, for the error metrics.
pub(super) fn sqlstate_of(r: &PgWireResult<()>) -> Option<&str> {
    match r {
        Ok(()) => None,
        Err(PgWireError::UserError(info)) => Some(info.code.as_str()),
        Err(_) => Some(INTERNAL_ERROR),
    }
}

pub(super) fn slot<C: ClientInfo>(client: &C) -> PgWireResult<Arc<SessionSlot>> {
    client
        .session_extensions()
        .get::<SessionSlot>()
        .ok_or_else(|| error(PROTOCOL_VIOLATION, "query before authentication completed"))
}

pub(super) async fn complete<C>(client: &mut C, tag: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    client
        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
            tag.to_owned(),
        )))
        .await?;
    Ok(())
}

/// The `command` label of a statement's metrics.
pub(super) fn command_of(kind: &StatementKind) -> Command {
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

impl Handler {
    /// Counts a statement that used a pgvector distance operator.
    pub(super) fn vector_metrics(&self, v: VectorUse, elapsed: std::time::Duration) {
        let op = match v.op {
            VectorOp::L2 => VectorDistance::L2,
            VectorOp::Cosine => VectorDistance::Cosine,
            VectorOp::InnerProduct => VectorDistance::InnerProduct,
        };
        self.metrics.vector_query(op, v.top_k, elapsed);
    }
}
