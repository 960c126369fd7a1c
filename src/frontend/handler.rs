//! pgwire handlers: the simple and extended query protocols on top of
//! [`super::execute`].

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::portal::Portal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::FieldInfo;
use pgwire::api::results::{DescribePortalResponse, DescribeStatementResponse, Response};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{DataRow, NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;

use crate::frontend::auth::ADMIN_DATABASE;
use crate::frontend::execute::{
    self, ResultColumn, StreamEnd, bridge_failure, ensure_worker, error, release_if_idle,
    resolve_columns, row_description, stream_result,
};
use crate::frontend::session::{
    ActivePortal, Session, SessionCommand, SessionSlot, parse_session_command, reported_name,
};
use crate::pgtypes::mapping::{self as types, ColumnType};
use crate::state::Shared;
use crate::telemetry::{Command, Metrics};
use crate::translate::lexer::split_statements;
use crate::translate::{Described, StatementKind, Translation, TypeExpr};

/// A statement prepared with Parse.
#[derive(Debug)]
pub struct PreparedStatement {
    /// The client's text, for the slow-query log.
    pub sql: Arc<str>,
    pub translation: Arc<Translation>,
    pub param_types: Vec<Type>,
    /// `None`: the backend cannot say before running it.
    pub columns: Option<Arc<Vec<ResultColumn>>>,
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
        Err(error("XX000", "internal: parse_sql is not used"))
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
    parser: Arc<UnusedParser>,
    metrics: &'static Metrics,
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
    /// Holds a statement at its start while the server is paused (`PAUSE`).
    async fn wait_unpaused(&self, s: &Session) {
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

    /// A simple Query on the admin console: one command per statement.
    async fn admin_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        for sql in split_statements(query) {
            match crate::admin::run(&self.shared, sql).await {
                Ok(crate::admin::Reply::Table(table)) => {
                    let cols: Vec<ResultColumn> = table
                        .columns
                        .iter()
                        .map(|(name, ty)| ResultColumn {
                            name: (*name).to_owned(),
                            ty: ty.clone(),
                            scale: None,
                        })
                        .collect();
                    client
                        .feed(PgWireBackendMessage::RowDescription(row_description(
                            &cols,
                            &[],
                        )))
                        .await?;
                    let n = table.rows.len();
                    for row in table.rows {
                        let mut data = bytes::BytesMut::new();
                        for v in &row {
                            let value = match v {
                                Some(v) => crate::bridge::marshal::Value::Str(v),
                                None => crate::bridge::marshal::Value::Null,
                            };
                            crate::pgtypes::encode_field(
                                &mut data,
                                &value,
                                &Type::TEXT,
                                None,
                                false,
                            )
                            .map_err(|e| execute::value_error(&e))?;
                        }
                        client
                            .feed(PgWireBackendMessage::DataRow(DataRow::new(
                                data,
                                row.len() as i16,
                            )))
                            .await?;
                    }
                    complete(client, &format!("SHOW {n}")).await?;
                }
                Ok(crate::admin::Reply::Done { tag, notices }) => {
                    for n in notices {
                        let info = ErrorInfo::new("WARNING".into(), "01000".into(), n);
                        client
                            .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                                info,
                            )))
                            .await?;
                    }
                    complete(client, &tag).await?;
                }
                Err(e) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse(
                            ErrorInfo::new("ERROR".into(), e.sqlstate.into(), e.message).into(),
                        ))
                        .await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Metrics for every statement; a log line for slow ones. Parameter
    /// values are never logged, only the statement text, cut short.
    fn finished(
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
fn sqlstate_of(r: &PgWireResult<()>) -> Option<&str> {
    match r {
        Ok(()) => None,
        Err(PgWireError::UserError(info)) => Some(info.code.as_str()),
        Err(_) => Some("XX000"),
    }
}

fn slot<C: ClientInfo>(client: &C) -> PgWireResult<Arc<SessionSlot>> {
    client
        .session_extensions()
        .get::<SessionSlot>()
        .ok_or_else(|| error("08P01", "query before authentication completed"))
}

fn txn_status(s: &Session) -> TransactionStatus {
    if s.failed {
        TransactionStatus::Error
    } else if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
        TransactionStatus::Transaction
    } else {
        TransactionStatus::Idle
    }
}

fn in_transaction(s: &Session) -> bool {
    s.failed || s.worker.as_ref().is_some_and(|w| w.in_transaction)
}

/// Marks the session's transaction as failed when an error hits it inside one.
fn note_failure(s: &mut Session) {
    if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
        s.failed = true;
    }
}

const ABORTED: &str =
    "current transaction is aborted, commands ignored until end of transaction block";

/// What iriswire does with a statement before (or instead of) the backend.
enum Plan {
    Backend,
    Local(SessionCommand),
    /// Answered with this tag and, optionally, a warning (BEGIN inside a
    /// transaction, COMMIT outside one).
    Tag(String, Option<&'static str>),
    /// COMMIT of a failed transaction: roll back, reply ROLLBACK.
    RollbackInstead,
    Aborted,
}

fn plan(t: &Translation, sql: &str, s: &Session) -> Plan {
    let in_txn = in_transaction(s);
    if let Some(tag) = &t.local_tag
        && !s.failed
    {
        return Plan::Tag(tag.clone(), None);
    }
    match t.kind {
        StatementKind::Rollback if !in_txn => Plan::Tag(
            "ROLLBACK".into(),
            Some("there is no transaction in progress"),
        ),
        StatementKind::Commit if s.failed => Plan::RollbackInstead,
        // The worker that held the transaction is gone (killed after a
        // timeout, or crashed): nothing is left to roll back on the backend.
        StatementKind::Rollback if s.failed && s.worker.is_none() => Plan::RollbackInstead,
        StatementKind::Commit if !in_txn => {
            Plan::Tag("COMMIT".into(), Some("there is no transaction in progress"))
        }
        StatementKind::Rollback | StatementKind::Commit => Plan::Backend,
        _ if s.failed && t.tag != "ROLLBACK" => Plan::Aborted,
        StatementKind::Begin if in_txn => Plan::Tag(
            t.tag.clone(),
            Some("there is already a transaction in progress"),
        ),
        StatementKind::Set | StatementKind::Show | StatementKind::Reset => {
            match parse_session_command(sql) {
                Some(c) => Plan::Local(c),
                None => Plan::Backend,
            }
        }
        _ => Plan::Backend,
    }
}

async fn send_notice<C>(client: &mut C, msg: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    // PostgreSQL's codes for the warnings iriswire gives itself.
    let code = if msg.starts_with("there is already") {
        "25001"
    } else {
        "25P01"
    };
    let info = ErrorInfo::new("WARNING".into(), code.into(), msg.into());
    client
        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
            info,
        )))
        .await?;
    Ok(())
}

/// Runs a SET/SHOW/RESET. `describe`: send RowDescription for SHOW (simple protocol).
async fn run_local<C>(
    client: &mut C,
    s: &mut Session,
    cmd: &SessionCommand,
    describe: bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    match cmd {
        SessionCommand::Set { name, value, local } => {
            if name == "client_encoding"
                && !matches!(
                    value.to_ascii_uppercase().replace(['-', '_'], "").as_str(),
                    "UTF8" | "UNICODE"
                )
            {
                return Err(error(
                    "0A000",
                    format!("iriswire supports only the UTF8 client encoding, not \"{value}\""),
                ));
            }
            let value = &Session::check_setting(name, value).map_err(|m| error("22023", m))?;
            if *local && !in_transaction(s) {
                // PostgreSQL: a warning, and the setting does not change.
                send_notice(client, "SET LOCAL can only be used in transaction blocks").await?;
                return complete(client, "SET").await;
            }
            s.set(name, value.clone(), *local);
            if let Some(reported) = reported_name(name) {
                client
                    .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                        reported.to_owned(),
                        value.clone(),
                    )))
                    .await?;
            }
            complete(client, "SET").await
        }
        SessionCommand::SetIgnored => complete(client, "SET").await,
        SessionCommand::Reset { name } => {
            s.reset(name.as_deref());
            complete(client, "RESET").await
        }
        SessionCommand::Show { name } => {
            let key = match name.as_str() {
                "transactionisolationlevel" => "transaction_isolation",
                other => other,
            };
            let value = s.settings.get(key).cloned().ok_or_else(|| {
                error(
                    "42704",
                    format!("unrecognized configuration parameter \"{name}\""),
                )
            })?;
            if describe {
                let cols = [ResultColumn {
                    name: key.to_owned(),
                    ty: Type::TEXT,
                    scale: None,
                }];
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(
                        &cols,
                        &[],
                    )))
                    .await?;
            }
            let mut data = bytes::BytesMut::new();
            crate::pgtypes::encode_field(
                &mut data,
                &crate::bridge::marshal::Value::Str(&value),
                &Type::TEXT,
                None,
                false,
            )
            .map_err(|e| execute::value_error(&e))?;
            client
                .feed(PgWireBackendMessage::DataRow(DataRow::new(data, 1)))
                .await?;
            complete(client, "SHOW").await
        }
    }
}

async fn complete<C>(client: &mut C, tag: &str) -> PgWireResult<()>
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

impl Handler {
    /// One statement of a simple Query message.
    async fn simple_statement<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        sql: &str,
        t: Arc<Translation>,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let shared = &self.shared;
        if let Some(first) = t.param_order.first() {
            // A simple Query binds nothing.
            return Err(error(
                "42P02",
                format!("there is no parameter ${}", first + 1),
            ));
        }
        match plan(&t, sql, s) {
            Plan::Aborted => return Err(error("25P02", ABORTED)),
            Plan::Local(cmd) => return run_local(client, s, &cmd, true).await,
            Plan::Tag(tag, warning) => {
                if let Some(w) = warning {
                    send_notice(client, w).await?;
                }
                return complete(client, &tag).await;
            }
            Plan::RollbackInstead => {
                self.backend_rollback(s).await?;
                return complete(client, "ROLLBACK").await;
            }
            Plan::Backend => {}
        }
        ensure_worker(shared, s).await?;
        let epoch = shared.epoch();
        let cached = t.described_at(epoch).filter(|d| d.columns.is_some());
        // Settled once per statement and schema epoch, then cached with it.
        let inferred = match &cached {
            Some(_) => None,
            None => Some(execute::infer_columns(shared, s, &t, &[]).await?),
        };
        let inferred_now = cached
            .as_ref()
            .map(|d| d.inferred.as_slice())
            .or(inferred.as_deref())
            .unwrap_or(&[]);
        let worker = s.worker.as_mut().expect("worker");
        worker
            .start_query(&t.backend_sql, cached.is_none(), |w| {
                w.tuple_header(0);
                Ok::<(), ()>(())
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .ok();
        let mut portal = None;
        let mut parsed = None;
        let pid = worker.pid();
        let (end, reason) = execute::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            stream_result(
                client,
                worker,
                &mut s.scratch,
                &t,
                None,
                &[],
                0,
                &mut portal,
                cached
                    .as_ref()
                    .and_then(|d| d.columns.as_deref())
                    .map(Vec::as_slice),
                inferred_now,
                &mut parsed,
            ),
        )
        .await;
        let end = execute::interrupted(end?, reason);
        if let Some(columns) = parsed {
            // A Prepare's description also has parameter types: keep that one.
            if !t.described_at(epoch).is_some_and(|d| d.prepared) {
                t.described.store(Some(Arc::new(Described {
                    epoch,
                    columns: Some(Arc::new(columns)),
                    inferred: inferred.unwrap_or_default(),
                    params: None,
                    prepared: false,
                })));
            }
        }
        self.after_statement(s, &t, end)
    }

    async fn backend_rollback(&self, s: &mut Session) -> PgWireResult<()> {
        self.metrics.transaction_ended(false);
        s.end_transaction();
        if s.failed && s.worker.is_none() {
            s.failed = false;
            return Ok(());
        }
        ensure_worker(&self.shared, s).await?;
        let w = s.worker.as_mut().expect("worker");
        w.start_query("ROLLBACK", false, |p| {
            p.tuple_header(0);
            Ok::<(), ()>(())
        })
        .await
        .map_err(|e| bridge_failure(&e))?
        .ok();
        w.drain().await.map_err(|e| bridge_failure(&e))?;
        s.failed = false;
        Ok(())
    }

    fn after_statement(
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

    /// Parse: translate, ask the backend to describe (cached), resolve types.
    async fn prepare(
        &self,
        s: &mut Session,
        sql: &str,
        client_types: &[u32],
    ) -> PgWireResult<PreparedStatement> {
        let shared = &self.shared;
        let t = shared
            .translations
            .get(sql)
            .map_err(|e| error(e.sqlstate(), e.to_string()))?;
        let local = matches!(plan(&t, sql, s), Plan::Local(_));
        let mut param_types: Vec<Option<Type>> = (0..t.param_count)
            .map(|i| {
                client_types
                    .get(i)
                    .copied()
                    .filter(|o| *o != 0)
                    .and_then(types::from_oid)
            })
            .collect();
        let mut columns = None;
        if local {
            if let Some(SessionCommand::Show { name }) = parse_session_command(sql) {
                columns = Some(Arc::new(vec![ResultColumn {
                    name,
                    ty: Type::TEXT,
                    scale: None,
                }]));
            } else {
                columns = Some(Arc::new(vec![]));
            }
        } else if matches!(
            t.kind,
            StatementKind::Begin | StatementKind::Commit | StatementKind::Rollback
        ) {
            columns = Some(Arc::new(vec![]));
        } else {
            let epoch = shared.epoch();
            let described = match t.described_at(epoch).filter(|d| d.prepared) {
                Some(d) => d,
                None => {
                    ensure_worker(shared, s).await?;
                    let w = s.worker.as_mut().expect("worker");
                    match w
                        .prepare(&t.backend_sql)
                        .await
                        .map_err(|e| bridge_failure(&e))?
                    {
                        Ok(p) => {
                            let inferred = execute::infer_columns(shared, s, &t, &[]).await?;
                            let d = Arc::new(Described {
                                epoch,
                                columns: p.columns.map(Arc::new),
                                inferred,
                                params: p.params,
                                prepared: true,
                            });
                            t.described.store(Some(d.clone()));
                            d
                        }
                        Err(e) => {
                            note_failure(s);
                            return Err(execute::backend_error(&e));
                        }
                    }
                }
            };
            for (i, ty) in t.analysis().param_types.iter().enumerate() {
                if param_types[i].is_none() {
                    param_types[i] = ty.clone();
                }
            }
            if param_types.iter().any(Option::is_none) && !t.analysis().param_columns.is_empty() {
                for link in t.analysis().param_columns.clone() {
                    if param_types.get(link.param).is_some_and(Option::is_some) {
                        continue;
                    }
                    // The qualifier may be an alias (`pg_type t`): then the
                    // statement's tables are searched too.
                    let candidates: Vec<String> = match &link.table {
                        Some(tb) => std::iter::once(tb.clone())
                            .chain(t.analysis().tables.iter().filter(|x| *x != tb).cloned())
                            .collect(),
                        None => t.analysis().tables.clone(),
                    };
                    for table in candidates {
                        let cols = execute::table_columns(shared, s, &table).await?;
                        let found = match link.position {
                            Some(i) => cols.get(i),
                            None => cols.iter().find(|(c, _)| *c == link.column),
                        };
                        if let Some((_, ct)) = found {
                            param_types[link.param] = Some(ct.ty.clone());
                            break;
                        }
                    }
                }
            }
            // The backend's own parameter types come last: IRIS types a `?` it
            // cannot place as VARCHAR, which a column comparison beats.
            if let Some(params) = &described.params {
                for (k, &p) in t.param_order.iter().enumerate() {
                    if param_types[p].is_none()
                        && let Some((name, code)) = params.get(k)
                    {
                        param_types[p] =
                            types::from_declared(name).or_else(|| types::from_odbc(*code, 0, 0));
                    }
                }
            }
            // Columns computed from `$n` follow the parameter types just settled.
            let with_params;
            let inferred: &[Option<ColumnType>] = if t
                .analysis()
                .column_exprs
                .iter()
                .any(TypeExpr::mentions_param)
            {
                with_params = execute::infer_columns(shared, s, &t, &param_types).await?;
                &with_params
            } else {
                &described.inferred
            };
            if let Some(metas) = &described.columns {
                columns = Some(Arc::new(resolve_columns(&t, metas, inferred, None)));
            } else if t.returning {
                // SQLite cannot describe RETURNING without running it: the
                // statement text and the catalog can.
                columns = match execute::columns_from_text(&t, inferred) {
                    Some(cols) => Some(Arc::new(cols)),
                    None => match t.analysis().tables.first() {
                        Some(table) => {
                            let cols = execute::table_columns(shared, s, table).await?;
                            Some(Arc::new(
                                cols.iter()
                                    .map(|(name, ct)| ResultColumn {
                                        name: name.clone(),
                                        ty: ct.ty.clone(),
                                        scale: ct.scale,
                                    })
                                    .collect(),
                            ))
                        }
                        None => None,
                    },
                };
            } else if !matches!(t.kind, StatementKind::Select | StatementKind::Other) {
                columns = Some(Arc::new(vec![]));
            }
        }
        release_if_idle(shared, s);
        Ok(PreparedStatement {
            sql: sql.into(),
            translation: t,
            param_types: param_types
                .into_iter()
                .map(|t| t.unwrap_or(Type::TEXT))
                .collect(),
            columns,
        })
    }

    async fn execute_portal<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        portal: &Portal<Statement>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let stmt = &portal.statement.statement;
        let t = &stmt.translation;
        let ncols = stmt.columns.as_ref().map(|c| c.len()).unwrap_or(0);
        let binary: Vec<bool> = (0..ncols)
            .map(|i| portal.result_column_format.is_binary(i))
            .collect();
        if let Some(active) = &s.active {
            if active.name == portal.name {
                let active = s.active.take();
                return self
                    .stream_portal(client, s, stmt, &binary, max_rows, active)
                    .await;
            }
            return Err(error(
                "0A000",
                "iriswire cannot run a statement while another portal's result is still open; fetch it to the end or close it first",
            ));
        }
        let original = &t.backend_sql;
        match plan(t, original, s) {
            Plan::Aborted => return Err(error("25P02", ABORTED)),
            Plan::Local(_) => {}
            Plan::Tag(tag, warning) => {
                if let Some(w) = warning {
                    send_notice(client, w).await?;
                }
                return complete(client, &tag).await;
            }
            Plan::RollbackInstead => {
                self.backend_rollback(s).await?;
                return complete(client, "ROLLBACK").await;
            }
            Plan::Backend => {}
        }
        if matches!(
            t.kind,
            StatementKind::Set | StatementKind::Show | StatementKind::Reset
        ) && let Some(cmd) = parse_session_command(&t.backend_sql)
        {
            return run_local(client, s, &cmd, false).await;
        }
        ensure_worker(&self.shared, s).await?;
        let worker = s.worker.as_mut().expect("worker");
        let fmt = &portal.parameter_format;
        worker
            .start_query(&t.backend_sql, false, |w| {
                execute::encode_params(
                    t,
                    &portal.parameters,
                    &stmt.param_types,
                    &|i| fmt.is_binary(i),
                    w,
                )
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .map_err(|e| execute::value_error(&e))?;
        let active = Some(ActivePortal {
            name: portal.name.clone(),
            pending: None,
            rows_sent: 0,
        });
        self.stream_portal(client, s, stmt, &binary, max_rows, active)
            .await
    }

    /// Streams a portal's rows (up to `max_rows`) under the session's
    /// statement timeout and cancel requests, a new portal or a resumed one.
    async fn stream_portal<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        stmt: &PreparedStatement,
        binary: &[bool],
        max_rows: usize,
        mut active: Option<ActivePortal>,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let t = &stmt.translation;
        let worker = s
            .worker
            .as_mut()
            .ok_or_else(|| error("XX000", "suspended portal lost its worker"))?;
        let pid = worker.pid();
        let (end, reason) = execute::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            stream_result(
                client,
                worker,
                &mut s.scratch,
                t,
                stmt.columns.clone(),
                binary,
                max_rows,
                &mut active,
                None,
                &[],
                &mut None,
            ),
        )
        .await;
        let end = execute::interrupted(end?, reason);
        s.active = active;
        self.after_statement(s, t, end)
    }

    /// `DEALLOCATE` and `DISCARD`: prepared statements live in iriswire, so
    /// these are answered here (psycopg sends `DEALLOCATE ALL` after a
    /// rollback; `DISCARD ALL` is PgBouncer's reset query).
    fn session_reset<C>(&self, client: &C, s: &mut Session, sql: &str) -> Option<String>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        let words = crate::translate::lexer::leading_keywords(sql, 3);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        // The simple-query trait does not name the statement type; the store is ours.
        let store = client
            .portal_store()
            .as_any()
            .downcast_ref::<pgwire::api::store::MemPortalStore<Statement>>()?;
        match words.as_slice() {
            ["DEALLOCATE", rest @ ..] => {
                let rest: Vec<&str> = rest.iter().copied().filter(|w| *w != "PREPARE").collect();
                if rest.first() == Some(&"ALL") {
                    clear_named_statements(store, s);
                    Some("DEALLOCATE ALL".into())
                } else {
                    let name = sql
                        .split_whitespace()
                        .last()
                        .unwrap_or("")
                        .trim_matches('"');
                    store.rm_statement(name);
                    s.statement_names.remove(name);
                    Some("DEALLOCATE".into())
                }
            }
            ["DISCARD", "ALL", ..] if !in_transaction(s) => {
                clear_named_statements(store, s);
                store.clear_portals();
                s.reset(None);
                Some("DISCARD ALL".into())
            }
            ["DISCARD", what, ..] if *what != "ALL" => Some(format!("DISCARD {what}")),
            _ => None,
        }
    }

    /// Closes a suspended portal: the rest of its result is discarded.
    async fn discard_active(&self, s: &mut Session) {
        if s.active.take().is_some()
            && let Some(w) = s.worker.as_mut()
            && w.drain().await.is_err()
        {
            s.release_worker();
        }
    }
}

/// Drops every named prepared statement of the session.
fn clear_named_statements<P: PortalStore<Statement = Statement>>(store: &P, s: &mut Session) {
    for name in std::mem::take(&mut s.statement_names) {
        store.rm_statement(&name);
    }
}

#[async_trait]
impl SimpleQueryHandler for Handler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let slot = slot(client)?;
        let mut s = slot.take().ok_or_else(|| error("08P01", "session busy"))?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        if s.database == ADMIN_DATABASE {
            let r = self.admin_query(client, &query.query).await;
            slot.put(s);
            client.set_state(PgWireConnectionState::ReadyForQuery);
            r?;
            client
                .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                    TransactionStatus::Idle,
                )))
                .await?;
            return Ok(());
        }
        self.wait_unpaused(&s).await;
        // A simple Query closes any suspended portal, as in PostgreSQL.
        self.discard_active(&mut s).await;
        let statements = split_statements(&query.query);
        let mut result = Ok(());
        if statements.is_empty() {
            result = client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await
                .map_err(Into::into);
        }
        for sql in statements {
            if let Some(tag) = self.session_reset(client, &mut s, sql) {
                if let Err(e) = complete(client, &tag).await {
                    result = Err(e);
                    break;
                }
                continue;
            }
            let started = std::time::Instant::now();
            let (command, vector, r) = match self.shared.translations.get(sql) {
                Ok(t) => (
                    Command::of(&t.kind),
                    t.vector,
                    self.simple_statement(client, &mut s, sql, t).await,
                ),
                Err(e) => (
                    Command::Other,
                    None,
                    Err(error(e.sqlstate(), e.to_string())),
                ),
            };
            let elapsed = started.elapsed();
            if let Some(v) = vector {
                self.metrics.vector_query(v, elapsed);
            }
            if let Some(st) = &s.stats {
                st.query(elapsed);
            }
            self.finished(command, elapsed, &r, &s.user, sql);
            if let Err(e) = r {
                let e = execute::with_syntax_position(e, &query.query, sql);
                if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
                    s.failed = true;
                }
                match e {
                    PgWireError::UserError(info) => {
                        let fatal = info.is_fatal();
                        result = client
                            .feed(PgWireBackendMessage::ErrorResponse((*info).into()))
                            .await
                            .map_err(Into::into);
                        if fatal {
                            slot.put(s);
                            return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                                "FATAL".into(),
                                "08006".into(),
                                "connection terminated".into(),
                            ))));
                        }
                    }
                    other => result = Err(other),
                }
                break;
            }
        }
        let status = txn_status(&s);
        slot.put(s);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        result?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(error("XX000", "internal: do_query is not used"))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Handler {
    type Statement = Statement;
    type QueryParser = UnusedParser;

    fn query_parser(&self) -> Arc<UnusedParser> {
        self.parser.clone()
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message
            .name
            .clone()
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        if split_statements(&message.query).is_empty() {
            client.portal_store().put_empty_statement(&name);
        } else {
            let slot = slot(client)?;
            let mut s = slot.take().ok_or_else(|| error("08P01", "session busy"))?;
            if s.database == ADMIN_DATABASE {
                slot.put(s);
                return Err(error(
                    "0A000",
                    "the iriswire admin console accepts only simple queries",
                ));
            }
            self.wait_unpaused(&s).await;
            let r = self
                .prepare(&mut s, &message.query, &message.type_oids)
                .await
                .map_err(|e| execute::with_syntax_position(e, &message.query, &message.query));
            let status = txn_status(&s);
            slot.put(s);
            client.set_transaction_status(status);
            let stmt = r?;
            let types = stmt.param_types.iter().cloned().map(Some).collect();
            client
                .portal_store()
                .put_statement(Arc::new(StoredStatement::new(name, Arc::new(stmt), types)));
        }
        client
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        let supplied = message.parameters.len();
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(stmt)) => {
                let required = stmt.statement.param_types.len();
                if supplied != required {
                    return Err(error(
                        "08P01",
                        format!(
                            "bind message supplies {supplied} parameters, but prepared statement \"{}\" requires {required}",
                            message.statement_name.as_deref().unwrap_or("")
                        ),
                    ));
                }
                let formats = message.parameter_format_codes.len();
                if formats > 1 && formats != supplied {
                    return Err(error(
                        "08P01",
                        format!(
                            "bind message has {formats} parameter formats but {supplied} parameters"
                        ),
                    ));
                }
                let portal = Portal::try_new(&message, stmt)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) => {
                if supplied != 0 {
                    return Err(error(
                        "08P01",
                        format!(
                            "bind message supplies {supplied} parameters, but prepared statement \"{statement_name}\" requires 0"
                        ),
                    ));
                }
                client.portal_store().put_empty_portal(portal_name);
            }
            None => {
                return Err(error(
                    "26000",
                    format!("prepared statement \"{statement_name}\" does not exist"),
                ));
            }
        }
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (stmt, binary): (Option<Statement>, Vec<bool>) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(st)) => {
                    let types = st.statement.param_types.iter().map(|t| t.oid()).collect();
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(types),
                        ))
                        .await?;
                    (Some(st.statement.clone()), vec![])
                }
                Some(Entry::Empty) => {
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(vec![]),
                        ))
                        .await?;
                    (None, vec![])
                }
                None => {
                    return Err(error(
                        "26000",
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                }
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(p)) => {
                    let n = p
                        .statement
                        .statement
                        .columns
                        .as_ref()
                        .map(|c| c.len())
                        .unwrap_or(0);
                    let b = (0..n)
                        .map(|i| p.result_column_format.is_binary(i))
                        .collect();
                    (Some(p.statement.statement.clone()), b)
                }
                Some(Entry::Empty) => (None, vec![]),
                None => return Err(error("34000", format!("portal \"{name}\" does not exist"))),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        match stmt.as_ref().and_then(|s| s.columns.clone()) {
            Some(cols) if !cols.is_empty() => {
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(
                        &cols, &binary,
                    )))
                    .await?;
            }
            _ => {
                client
                    .feed(PgWireBackendMessage::NoData(NoData::new()))
                    .await?
            }
        }
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(p)) => p,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(error("34000", format!("portal \"{name}\" does not exist"))),
        };
        let slot = slot(client)?;
        let mut s = slot.take().ok_or_else(|| error("08P01", "session busy"))?;
        self.wait_unpaused(&s).await;
        let max_rows = message.max_rows.max(0) as usize;
        let started = std::time::Instant::now();
        let r = self.execute_portal(client, &mut s, &portal, max_rows).await;
        let command = Command::of(&portal.statement.statement.translation.kind);
        let stmt = &portal.statement.statement;
        let elapsed = started.elapsed();
        if let Some(v) = stmt.translation.vector {
            self.metrics.vector_query(v, elapsed);
        }
        if let Some(st) = &s.stats {
            st.query(elapsed);
        }
        self.finished(command, elapsed, &r, &s.user, &stmt.sql);
        let status = txn_status(&s);
        slot.put(s);
        client.set_transaction_status(status);
        r
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let slot = slot(client)?;
        let status = match slot.take() {
            Some(mut s) => {
                // Outside a transaction block, Sync ends the implicit
                // transaction and with it every portal.
                if !in_transaction(&s) {
                    self.discard_active(&mut s).await;
                    client.portal_store().clear_portals();
                }
                release_if_idle(&self.shared, &mut s);
                let st = txn_status(&s);
                slot.put(s);
                st
            }
            None => client.transaction_status(),
        };
        client.portal_store().rm_portal(DEFAULT_NAME);
        client.set_transaction_status(status);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => client.portal_store().rm_statement(name),
            TARGET_TYPE_BYTE_PORTAL => {
                if let Some(slot) = client.session_extensions().get::<SessionSlot>()
                    && let Some(mut s) = slot.take()
                {
                    if s.active.as_ref().is_some_and(|a| a.name == name) {
                        self.discard_active(&mut s).await;
                    }
                    slot.put(s);
                }
                client.portal_store().rm_portal(name)
            }
            _ => {}
        }
        client
            .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        _: &mut C,
        _: &StoredStatement<Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(error("XX000", "internal: not used"))
    }

    async fn do_describe_portal<C>(
        &self,
        _: &mut C,
        _: &Portal<Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(error("XX000", "internal: not used"))
    }

    async fn do_query<C>(
        &self,
        _: &mut C,
        _: &Portal<Statement>,
        _: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(error("XX000", "internal: not used"))
    }
}
