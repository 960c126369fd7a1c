//! The extended query protocol: Parse, Bind, Execute, Sync and Close, with
//! portals streamed from the worker.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Portal;
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{DescribePortalResponse, DescribeStatementResponse, Response};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery};

use super::handler::{Handler, PreparedStatement, Statement, UnusedParser, command_of, slot};
use super::session_sql;
use super::transaction::{in_transaction, plan, txn_status};
use crate::frontend::auth::ADMIN_DATABASE;
use crate::frontend::errors;
use crate::frontend::errors::{
    FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, INVALID_CURSOR_NAME, INVALID_SQL_STATEMENT_NAME,
    PROTOCOL_VIOLATION,
};
use crate::frontend::errors::{bridge_failure, error};
use crate::frontend::lease::{ensure_worker, release_if_idle};
use crate::frontend::session::{ActivePortal, Session, SessionSlot};
use crate::frontend::stream;
use crate::frontend::stream::ResultStream;
use crate::frontend::supervise;
use crate::translate::lexer::split_statements;

impl Handler {
    pub(super) async fn execute_portal<C>(
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
                FEATURE_NOT_SUPPORTED,
                "iriswire cannot run a statement while another portal's result is still open; fetch it to the end or close it first",
            ));
        }
        let planned = plan(t, &stmt.sql, s);
        if self.carry_out(client, s, planned, false).await? {
            return Ok(());
        }
        ensure_worker(&self.shared, s).await?;
        let worker = s.worker.as_mut().expect("worker");
        let fmt = &portal.parameter_format;
        worker
            .start_query(&t.backend_sql, false, |w| {
                stream::encode_params(
                    t,
                    &portal.parameters,
                    &stmt.param_types,
                    &|i| fmt.is_binary(i),
                    w,
                )
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .map_err(|e| errors::value_error(&e))?;
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
    pub(super) async fn stream_portal<C>(
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
            .ok_or_else(|| error(INTERNAL_ERROR, "suspended portal lost its worker"))?;
        let pid = worker.pid();
        let (end, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            ResultStream {
                translation: t,
                columns: stmt.columns.clone(),
                binary,
                max_rows,
                known: None,
                inferred: &[],
            }
            .run(client, worker, &mut s.scratch, &mut active, &mut None),
        )
        .await;
        let end = supervise::interrupted(end?, reason);
        s.active = active;
        self.after_statement(s, t, end)
    }

    /// Closes a suspended portal: the rest of its result is discarded.
    pub(super) async fn discard_active(&self, s: &mut Session) {
        if s.active.take().is_some()
            && let Some(w) = s.worker.as_mut()
            && w.drain().await.is_err()
        {
            s.release_worker();
        }
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
            let mut s = slot
                .take()
                .ok_or_else(|| error(PROTOCOL_VIOLATION, "session busy"))?;
            if s.database == ADMIN_DATABASE {
                slot.put(s);
                return Err(error(
                    FEATURE_NOT_SUPPORTED,
                    "the iriswire admin console accepts only simple queries",
                ));
            }
            self.wait_unpaused(&s).await;
            // Describing may need the worker a suspended portal holds: it
            // waits as a cursor.
            let parked = self.park_portal(client, &mut s);
            let r = match (parked, session_sql::parse(&message.query)) {
                (Err(e), _) => Err(e),
                (Ok(()), Some(parsed)) => {
                    self.parse_session_sql(
                        client,
                        &mut s,
                        &message.query,
                        parsed,
                        &message.type_oids,
                    )
                    .await
                }
                (Ok(()), None) => {
                    self.prepare(&mut s, &message.query, &message.type_oids)
                        .await
                }
            }
            .map_err(|e| errors::with_syntax_position(e, &message.query, &message.query));
            if r.is_ok() && name != DEFAULT_NAME {
                // For DEALLOCATE ALL and DISCARD ALL.
                s.statement_names.insert(name.clone());
            }
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
                        PROTOCOL_VIOLATION,
                        format!(
                            "bind message supplies {supplied} parameters, but prepared statement \"{}\" requires {required}",
                            message.statement_name.as_deref().unwrap_or("")
                        ),
                    ));
                }
                let formats = message.parameter_format_codes.len();
                if formats > 1 && formats != supplied {
                    return Err(error(
                        PROTOCOL_VIOLATION,
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
                        PROTOCOL_VIOLATION,
                        format!(
                            "bind message supplies {supplied} parameters, but prepared statement \"{statement_name}\" requires 0"
                        ),
                    ));
                }
                client.portal_store().put_empty_portal(portal_name);
            }
            None => {
                return Err(error(
                    INVALID_SQL_STATEMENT_NAME,
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
        self.describe(client, message).await
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
            None => {
                return Err(error(
                    INVALID_CURSOR_NAME,
                    format!("portal \"{name}\" does not exist"),
                ));
            }
        };
        let slot = slot(client)?;
        let mut s = slot
            .take()
            .ok_or_else(|| error(PROTOCOL_VIOLATION, "session busy"))?;
        self.wait_unpaused(&s).await;
        if let Some(plan) = &portal.statement.statement.copy {
            // COPY records its own metrics: it may end with a later CopyDone.
            let r = self
                .execute_copy(client, &mut s, &portal.statement.statement, plan)
                .await;
            let status = txn_status(&s);
            slot.put(s);
            client.set_transaction_status(status);
            return r;
        }
        let max_rows = message.max_rows.max(0) as usize;
        let started = std::time::Instant::now();
        let resumed = s.active.as_ref().is_some_and(|a| a.name == portal.name);
        // Another portal's result is still open: it waits as a cursor.
        let parked = if resumed {
            Ok(())
        } else {
            self.park_portal(client, &mut s)
        };
        let r = match &portal.statement.statement.session_sql {
            _ if parked.is_err() => parked,
            _ if s.cursors.is_parked_portal(&portal.name) => {
                self.resume_parked(client, &mut s, &portal, max_rows).await
            }
            // A resumed EXECUTE portal streams as any suspended portal.
            Some(ss) if !resumed => {
                self.execute_session_sql(client, &mut s, &portal, ss, max_rows)
                    .await
            }
            _ => self.execute_portal(client, &mut s, &portal, max_rows).await,
        };
        let command = command_of(&portal.statement.statement.translation.kind);
        let stmt = &portal.statement.statement;
        let elapsed = started.elapsed();
        if let Some(v) = stmt.translation.vector {
            self.vector_metrics(v, elapsed);
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
                    if s.cursors
                        .close_parked_portals(s.worker.as_deref_mut())
                        .await
                        .is_err()
                    {
                        s.release_worker();
                    }
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
                    } else if s.cursors.is_parked_portal(name)
                        && let Some(mut c) = s.cursors.remove(name)
                        && c.discard(s.worker.as_deref_mut()).await.is_err()
                    {
                        s.release_worker();
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
        Err(error(INTERNAL_ERROR, "internal: not used"))
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
        Err(error(INTERNAL_ERROR, "internal: not used"))
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
        Err(error(INTERNAL_ERROR, "internal: not used"))
    }
}
