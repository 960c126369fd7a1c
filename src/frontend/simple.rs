//! The simple query protocol: a Query message, split into statements and
//! run one by one.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;

use super::handler::{Handler, command_of, complete, slot};
use super::session_sql;
use super::transaction::{in_transaction, plan, txn_status};
use crate::frontend::auth::ADMIN_DATABASE;
use crate::frontend::columns;
use crate::frontend::errors;
use crate::frontend::errors::{
    CONNECTION_FAILURE, INTERNAL_ERROR, PROTOCOL_VIOLATION, UNDEFINED_PARAMETER,
};
use crate::frontend::errors::{bridge_failure, error};
use crate::frontend::lease::ensure_worker;
use crate::frontend::session::Session;
use crate::frontend::stream::ResultStream;
use crate::frontend::supervise;
use crate::telemetry::Command;
use crate::translate::lexer::split_statements;
use crate::translate::{Described, Translation};

impl Handler {
    /// One statement of a simple Query message.
    pub(super) async fn simple_statement<C>(
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
                UNDEFINED_PARAMETER,
                format!("there is no parameter ${}", first + 1),
            ));
        }
        let planned = plan(&t, sql, s);
        if self.carry_out(client, s, planned, true).await? {
            return Ok(());
        }
        ensure_worker(shared, s).await?;
        let epoch = shared.epoch();
        let cached = t.described_at(epoch).filter(|d| d.columns.is_some());
        // Settled once per statement and schema epoch, then cached with it.
        let inferred = match &cached {
            Some(_) => None,
            None => Some(columns::infer_columns(shared, s, &t, &[]).await?),
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
        let (end, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            ResultStream {
                translation: &t,
                columns: None,
                binary: &[],
                max_rows: 0,
                known: cached
                    .as_ref()
                    .and_then(|d| d.columns.as_deref())
                    .map(Vec::as_slice),
                inferred: inferred_now,
            }
            .run(client, worker, &mut s.scratch, &mut portal, &mut parsed),
        )
        .await;
        let end = supervise::interrupted(end?, reason);
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
        let mut s = slot
            .take()
            .ok_or_else(|| error(PROTOCOL_VIOLATION, "session busy"))?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        if s.database == ADMIN_DATABASE {
            let r = crate::admin::wire::respond(&self.shared, client, &query.query).await;
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
        // A simple Query closes the unnamed portal; a named one lives on
        // until its transaction ends, as in PostgreSQL (asyncpg MOVEs one).
        if s.active.as_ref().is_some_and(|a| a.name != DEFAULT_NAME)
            && in_transaction(&s)
            && let Err(e) = self.park_portal(client, &mut s)
        {
            tracing::debug!(error = %e, "could not keep a suspended portal");
        }
        self.discard_active(&mut s).await;
        let statements = split_statements(&query.query);
        self.open_query_block(&mut s, statements.len());
        let mut result = Ok(());
        if statements.is_empty() {
            result = client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await
                .map_err(Into::into);
        }
        let count = statements.len();
        for (i, sql) in statements.into_iter().enumerate() {
            if let Some(tag) = self.session_reset(client, &mut s, sql) {
                if let Err(e) = complete(client, &tag).await {
                    result = Err(e);
                    break;
                }
                continue;
            }
            let r = if crate::frontend::copy::is_copy(sql) {
                // COPY records its own metrics: it may end with a later CopyDone.
                let r = self.simple_copy(client, &mut s, sql, i + 1 == count).await;
                if crate::frontend::copy::is_receiving(client) {
                    // COPY FROM STDIN: the copy sub-protocol ends this Query.
                    slot.put(s);
                    return Ok(());
                }
                r
            } else {
                let started = std::time::Instant::now();
                let (command, vector, r) = match session_sql::parse(sql) {
                    Some(parsed) => (
                        Command::Other,
                        None,
                        self.run_session_sql(client, &mut s, parsed).await,
                    ),
                    None => match self.shared.translations.get(sql) {
                        Ok(t) => (
                            command_of(&t.kind),
                            t.vector,
                            self.simple_statement(client, &mut s, sql, t).await,
                        ),
                        Err(e) => (
                            Command::Other,
                            None,
                            Err(error(e.sqlstate(), e.to_string())),
                        ),
                    },
                };
                let elapsed = started.elapsed();
                if let Some(v) = vector {
                    self.vector_metrics(v, elapsed);
                }
                if let Some(st) = &s.stats {
                    st.query(elapsed);
                }
                self.finished(command, elapsed, &r, &s.user, sql);
                r
            };
            if let Err(e) = r {
                let e = errors::with_syntax_position(e, &query.query, sql);
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
                                CONNECTION_FAILURE.into(),
                                "connection terminated".into(),
                            ))));
                        }
                    }
                    other => result = Err(other),
                }
                break;
            }
        }
        // The implicit block of several statements ends with the Query.
        if let Err(PgWireError::UserError(info)) = self.close_query_block(&mut s).await
            && result.is_ok()
        {
            result = client
                .feed(PgWireBackendMessage::ErrorResponse((*info).into()))
                .await
                .map_err(Into::into);
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
        Err(error(INTERNAL_ERROR, "internal: do_query is not used"))
    }
}
