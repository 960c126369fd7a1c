//! COPY: the sub-protocol. A COPY statement, from either query protocol,
//! is planned (`plan`) and then either streams its rows out at once
//! (`to_stdout`) or switches the connection into copy-in mode, where
//! pgwire hands every CopyData, CopyDone and CopyFail to the
//! [`CopyHandler`] here until the COPY ends (`from_stdin`).
//!
//! The COPY FROM STDIN in progress lives in the connection's session
//! extensions between messages, next to its `Session`; the connection loop
//! treats the whole exchange as one request (no idle timeout, no drain
//! while it runs).

mod decode;
mod encode;
mod error;
mod from_stdin;
mod options;
mod parser;
pub(crate) mod plan;
mod statement;
mod to_stdout;
mod tokens;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse};

use super::handler::{Handler, PreparedStatement, complete, slot};
use super::transaction::{ABORTED, in_transaction, note_failure, txn_status};
use crate::frontend::errors::{
    FEATURE_NOT_SUPPORTED, IN_FAILED_SQL_TRANSACTION, PROTOCOL_VIOLATION, QUERY_CANCELED, error,
};
use crate::frontend::lease::{ensure_worker, release_if_idle};
use crate::frontend::session::Session;
use crate::frontend::stream::StreamEnd;
use crate::telemetry::Command;
use from_stdin::{CopyIn, run_control};
use options::Format;
use plan::CopyPlan;
use statement::Direction;
pub(crate) use tokens::starts_with_copy as is_copy;

/// The COPY FROM STDIN a connection is receiving, between its messages.
#[derive(Default)]
struct Receiving(Mutex<Option<Box<CopyIn>>>);

fn take_receiving<C: ClientInfo>(client: &C) -> Option<Box<CopyIn>> {
    client
        .session_extensions()
        .get::<Receiving>()
        .and_then(|r| r.0.lock().expect("copy state").take())
}

fn keep_receiving<C: ClientInfo>(client: &C, copy: Box<CopyIn>) {
    let r = client
        .session_extensions()
        .get_or_insert_with(Receiving::default);
    *r.0.lock().expect("copy state") = Some(copy);
}

/// Whether a COPY FROM STDIN has just switched the connection to copy-in
/// mode: the statement goes on in the [`CopyHandler`].
pub(crate) fn is_receiving<C: ClientInfo>(client: &C) -> bool {
    matches!(client.state(), PgWireConnectionState::CopyInProgress(_))
}

impl Handler {
    /// A COPY statement of a simple Query. `last`: nothing follows it in
    /// the Query (iriswire runs COPY FROM STDIN only there).
    pub(crate) async fn simple_copy<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        sql: &str,
        last: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let started = Instant::now();
        let r = async {
            if s.failed {
                return Err(error(IN_FAILED_SQL_TRANSACTION, ABORTED));
            }
            let plan = plan::plan(&self.shared, s, sql).await?;
            match plan.statement.direction {
                Direction::To => self.copy_out(client, s, &plan).await,
                Direction::From if !last => Err(error(
                    FEATURE_NOT_SUPPORTED,
                    "iriswire runs COPY FROM STDIN only as the last statement of a query string",
                )),
                Direction::From => {
                    self.start_copy_in(client, s, Arc::new(plan), sql, false)
                        .await
                }
            }
        }
        .await;
        if !is_receiving(client) {
            release_if_idle(&self.shared, s);
            self.record_copy(s, started, &r, sql);
        }
        r
    }

    /// Parse of a COPY statement: planned now, as Parse translates and
    /// describes any statement; it has no parameters and describes as NoData.
    pub(crate) async fn prepare_copy(
        &self,
        s: &mut Session,
        sql: &str,
    ) -> PgWireResult<PreparedStatement> {
        let plan = plan::plan(&self.shared, s, sql).await;
        if plan.is_err() {
            note_failure(s);
        }
        release_if_idle(&self.shared, s);
        let plan = plan?;
        Ok(PreparedStatement {
            sql: sql.into(),
            translation: plan.translation.clone(),
            param_types: vec![],
            columns: Some(Arc::new(vec![])),
            copy: Some(Arc::new(plan)),
            session_sql: None,
        })
    }

    /// Execute of a portal whose statement is a COPY.
    pub(crate) async fn execute_copy<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        stmt: &PreparedStatement,
        plan: &Arc<CopyPlan>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let started = Instant::now();
        let r = async {
            if s.failed {
                return Err(error(IN_FAILED_SQL_TRANSACTION, ABORTED));
            }
            if s.active.is_some() {
                return Err(error(
                    FEATURE_NOT_SUPPORTED,
                    "iriswire cannot run a statement while another portal's result is still open; fetch it to the end or close it first",
                ));
            }
            // A DDL since Parse may have changed the table: plan again.
            let plan = if plan.epoch == self.shared.epoch() {
                plan.clone()
            } else {
                Arc::new(plan::plan(&self.shared, s, &stmt.sql).await?)
            };
            match plan.statement.direction {
                Direction::To => self.copy_out(client, s, &plan).await,
                Direction::From => self.start_copy_in(client, s, plan, &stmt.sql, true).await,
            }
        }
        .await;
        if !is_receiving(client) {
            if r.is_err() {
                // As any failed statement: it aborts the transaction block.
                note_failure(s);
            }
            release_if_idle(&self.shared, s);
            self.record_copy(s, started, &r, &stmt.sql);
        }
        r
    }

    /// A COPY's end in the metrics, `SHOW STATS` and the slow-query log.
    fn record_copy(&self, s: &Session, started: Instant, r: &PgWireResult<()>, sql: &str) {
        let elapsed = started.elapsed();
        if let Some(st) = &s.stats {
            st.query(elapsed);
        }
        self.finished(Command::Other, elapsed, r, &s.user, sql);
    }

    /// Opens the transaction the COPY runs in (unless the client has one
    /// open), answers CopyInResponse and switches to copy-in mode.
    async fn start_copy_in<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        plan: Arc<CopyPlan>,
        sql: &str,
        extended: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let began = !in_transaction(s);
        if began {
            ensure_worker(&self.shared, s).await?;
            let begin = self
                .shared
                .translations
                .get("BEGIN")
                .map_err(|e| error(e.sqlstate(), e.to_string()))?;
            run_control(s, &begin.backend_sql).await?;
        }
        let n = plan.columns.len();
        let binary = plan.statement.options.format == Format::Binary;
        let copy = Box::new(CopyIn::new(plan, sql, began));
        client
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                i8::from(binary),
                n as i16,
                vec![i16::from(binary); n],
            )))
            .await?;
        client.set_state(PgWireConnectionState::CopyInProgress(extended));
        client.set_transaction_status(txn_status(s));
        keep_receiving(client, copy);
        Ok(())
    }

    /// Ends a COPY FROM STDIN that failed: rolls back what it began,
    /// records the statement, and returns the error for the client.
    async fn copy_in_failed<C: ClientInfo>(
        &self,
        client: &mut C,
        s: &mut Session,
        mut copy: Box<CopyIn>,
        e: PgWireError,
    ) -> PgWireError {
        copy.abort(s).await;
        let r = self.after_statement(s, &copy.plan.translation, StreamEnd::Failed(e));
        self.record_copy(s, copy.started, &r, &copy.sql);
        client.set_transaction_status(txn_status(s));
        r.err()
            .unwrap_or_else(|| error(PROTOCOL_VIOLATION, "COPY failed"))
    }

    /// The connection loop's cleanup when copy-in mode ended without the
    /// COPY ending (a message other than CopyData, CopyDone or CopyFail):
    /// the COPY fails as in PostgreSQL and rolls back.
    pub(crate) async fn abandon_copy<C: ClientInfo>(&self, client: &mut C) {
        let Some(copy) = take_receiving(client) else {
            return;
        };
        let Ok(slot) = slot(client) else {
            return;
        };
        if let Some(mut s) = slot.take() {
            let e = error(PROTOCOL_VIOLATION, "unexpected message type during COPY");
            self.copy_in_failed(client, &mut s, copy, e).await;
            slot.put(s);
        }
    }
}

#[async_trait]
impl CopyHandler for Handler {
    async fn on_copy_data<C>(&self, client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (slot, mut s, mut copy) = receiving_session(client)?;
        let r = match copy.receive(self, &mut s, &data.data).await {
            Ok(()) => {
                keep_receiving(client, copy);
                Ok(())
            }
            Err(e) => Err(self.copy_in_failed(client, &mut s, copy, e).await),
        };
        slot.put(s);
        r
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (slot, mut s, mut copy) = receiving_session(client)?;
        let r = match copy.finish(self, &mut s).await {
            Ok(rows) => {
                let r = match complete(client, &format!("COPY {rows}")).await {
                    Ok(()) => self.after_statement(
                        &mut s,
                        &copy.plan.translation,
                        StreamEnd::Complete {
                            rows: rows as usize,
                        },
                    ),
                    Err(e) => Err(e),
                };
                self.record_copy(&s, copy.started, &r, &copy.sql);
                client.set_transaction_status(txn_status(&s));
                r
            }
            Err(e) => Err(self.copy_in_failed(client, &mut s, copy, e).await),
        };
        slot.put(s);
        r
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let e = error(
            QUERY_CANCELED,
            format!("COPY from stdin failed: {}", fail.message),
        );
        match receiving_session(client) {
            Ok((slot, mut s, copy)) => {
                let e = self.copy_in_failed(client, &mut s, copy, e).await;
                slot.put(s);
                e
            }
            Err(_) => e,
        }
    }
}

/// The session and the COPY FROM STDIN it is receiving, taken out of the
/// connection for the length of one message.
fn receiving_session<C: ClientInfo>(
    client: &C,
) -> PgWireResult<(Arc<super::session::SessionSlot>, Session, Box<CopyIn>)> {
    let slot = slot(client)?;
    let s = slot
        .take()
        .ok_or_else(|| error(PROTOCOL_VIOLATION, "session busy"))?;
    match take_receiving(client) {
        Some(copy) => Ok((slot, s, copy)),
        None => {
            slot.put(s);
            Err(error(
                PROTOCOL_VIOLATION,
                "no COPY FROM STDIN is in progress",
            ))
        }
    }
}
