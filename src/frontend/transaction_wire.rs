//! Carrying out the transaction planner's decisions (`transaction::plan`):
//! BEGIN with its characteristics, COMMIT and ROLLBACK with the cursors they
//! close or keep, SET TRANSACTION, refusals, and the implicit transaction
//! block of a simple Query holding several statements.
//!
//! The implicit block is begun on the backend lazily, just before its first
//! statement that reaches the backend, so a Query of `SET`s alone never
//! takes a worker; it ends when the Query does: COMMIT if every statement
//! succeeded, ROLLBACK after the first error, as PostgreSQL's
//! `exec_simple_query` does.

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;

use super::handler::{Handler, complete};
use super::session_wire::{run_local, send_notice};
use super::transaction::{ABORTED, Plan, in_block, in_transaction, note_failure};
use super::txn_modes::{ModeList, TxnModes, backend_begin, backend_set_isolation};
use crate::bridge::Frame;
use crate::frontend::errors::{ACTIVE_SQL_TRANSACTION, IN_FAILED_SQL_TRANSACTION};
use crate::frontend::errors::{backend_error, bridge_failure, error};
use crate::frontend::lease::{ensure_worker, release_if_idle};
use crate::frontend::session::{Session, reported_name};

impl Handler {
    /// Carries out `plan` for a statement. `Ok(true)`: answered here;
    /// `Ok(false)`: the statement goes to the backend, whose transaction
    /// (the implicit block's, if it is the first) is now open.
    /// `describe`: SHOW sends its RowDescription (simple protocol).
    pub(super) async fn carry_out<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        plan: Plan,
        describe: bool,
    ) -> PgWireResult<bool>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        match plan {
            Plan::Backend => {
                self.enter_backend(s).await?;
                return Ok(false);
            }
            Plan::Aborted => return Err(error(IN_FAILED_SQL_TRANSACTION, ABORTED)),
            Plan::Refuse(code, message) => {
                // As in PostgreSQL, an error inside a block aborts it.
                note_failure(s);
                return Err(error(code, message));
            }
            Plan::Local(cmd) => run_local(client, s, &cmd, describe).await?,
            Plan::Tag(tag, warning) => {
                if let Some(w) = warning {
                    send_notice(client, w).await?;
                }
                complete(client, &tag).await?;
            }
            Plan::RollbackInstead => {
                self.end_block(s, false).await?;
                complete(client, "ROLLBACK").await?;
            }
            Plan::Begin { modes, tag } => {
                self.begin(s, modes).await?;
                complete(client, &tag).await?;
            }
            Plan::End {
                commit,
                chain,
                warn,
            } => {
                if warn {
                    send_notice(client, "there is no transaction in progress").await?;
                }
                let modes = s.txn.modes;
                self.end_block(s, commit).await?;
                if chain {
                    self.backend_begin(s, modes).await?;
                }
                complete(client, if commit { "COMMIT" } else { "ROLLBACK" }).await?;
            }
            Plan::SetTransaction(list) => {
                self.set_transaction(client, s, list).await?;
                complete(client, "SET").await?;
            }
            Plan::SetDefaults(list) => {
                for (name, value) in list.as_default_settings() {
                    if let Some(reported) = reported_name(name) {
                        client
                            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                                reported.to_owned(),
                                value.clone(),
                            )))
                            .await?;
                    }
                    s.set(name, value, false);
                }
                complete(client, "SET").await?;
            }
        }
        Ok(true)
    }

    /// A statement is about to run on the backend: the implicit block's
    /// transaction begins with its first one.
    pub(super) async fn enter_backend(&self, s: &mut Session) -> PgWireResult<()> {
        if s.txn.multi_statement && !in_transaction(s) {
            let modes = s.txn.modes;
            self.backend_begin(s, modes).await?;
            s.txn.implicit_begun = true;
        }
        s.txn.queried = true;
        Ok(())
    }

    /// A simple Query starts: with several statements, those outside an
    /// explicit block share one implicit transaction.
    pub(super) fn open_query_block(&self, s: &mut Session, statements: usize) {
        s.txn.multi_statement = statements > 1;
        if s.txn.multi_statement && !in_transaction(s) {
            s.txn.modes = s.default_modes();
            s.txn.queried = false;
        }
    }

    /// The simple Query ends: its implicit block commits, or rolls back
    /// after an error. The error of a failed COMMIT is returned.
    pub(super) async fn close_query_block(&self, s: &mut Session) -> PgWireResult<()> {
        if !std::mem::take(&mut s.txn.multi_statement) {
            return Ok(());
        }
        if s.txn.implicit_begun {
            let commit = !s.failed;
            self.end_block(s, commit).await
        } else {
            if !in_transaction(s) {
                // Nothing reached the backend; SET LOCAL still ends here.
                s.end_transaction();
            }
            Ok(())
        }
    }

    /// BEGIN: opens an explicit block. Inside the implicit block whose
    /// statements already ran, those statements join it (no new backend
    /// transaction), as in PostgreSQL.
    async fn begin(&self, s: &mut Session, list: ModeList) -> PgWireResult<()> {
        if s.txn.implicit_begun {
            check_mode_change(s, &list)?;
            s.txn.modes = list.apply(s.txn.modes);
            s.txn.implicit_begun = false;
            return Ok(());
        }
        let base = if s.txn.multi_statement {
            s.txn.modes
        } else {
            s.default_modes()
        };
        self.backend_begin(s, list.apply(base)).await
    }

    /// Opens a transaction on the backend with `modes`.
    pub(super) async fn backend_begin(&self, s: &mut Session, modes: TxnModes) -> PgWireResult<()> {
        let sql = backend_begin(self.shared.translations.dialect(), &modes);
        self.run_silent(s, sql).await?;
        s.txn.modes = modes;
        s.txn.queried = false;
        Ok(())
    }

    /// Ends the transaction in progress: cursors first (they may hold the
    /// worker), then COMMIT or ROLLBACK on the backend. A COMMIT the
    /// backend refuses still ends the transaction, rolled back, as in
    /// PostgreSQL, and its error is returned.
    pub(super) async fn end_block(&self, s: &mut Session, commit: bool) -> PgWireResult<()> {
        let commit = commit && !s.failed;
        let open = in_transaction(s);
        let mut result = s
            .cursors
            .end_transaction(commit, s.worker.as_deref_mut())
            .await;
        let backend_open = s.worker.as_ref().is_some_and(|w| w.in_transaction);
        let mut committed = commit;
        if commit && backend_open {
            if let Err(e) = self.run_silent(s, "COMMIT").await {
                committed = false;
                result = result.and(Err(e));
                if s.worker.as_ref().is_some_and(|w| w.in_transaction) {
                    let _ = self.run_silent(s, "ROLLBACK").await;
                }
            }
        } else if backend_open {
            // A failed ROLLBACK leaves nothing more to do: the worker is
            // recycled with a rollback if it is still in a transaction.
            if let Err(e) = self.run_silent(s, "ROLLBACK").await {
                tracing::debug!(error = %e, "ROLLBACK failed on the backend");
            }
        }
        if open {
            self.metrics.transaction_ended(committed);
            if let Some(st) = &s.stats {
                st.transaction();
            }
        }
        s.failed = false;
        s.end_transaction();
        release_if_idle(&self.shared, s);
        result
    }

    /// `SET TRANSACTION`: the characteristics of the transaction in
    /// progress; outside a block PostgreSQL only warns.
    async fn set_transaction<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        list: ModeList,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if !in_block(s) {
            return send_notice(
                client,
                "SET TRANSACTION can only be used in transaction blocks",
            )
            .await;
        }
        check_mode_change(s, &list)?;
        let modes = list.apply(s.txn.modes);
        if modes.isolation != s.txn.modes.isolation
            && s.worker.as_ref().is_some_and(|w| w.in_transaction)
            && let Some(sql) =
                backend_set_isolation(self.shared.translations.dialect(), modes.isolation)
        {
            self.run_silent(s, sql).await?;
        }
        s.txn.modes = modes;
        Ok(())
    }

    /// Runs a statement that returns no rows (BEGIN, COMMIT, ...) on the
    /// session's worker.
    async fn run_silent(&self, s: &mut Session, sql: &str) -> PgWireResult<()> {
        ensure_worker(&self.shared, s).await?;
        let w = s.worker.as_mut().expect("worker");
        let r = async {
            w.start_query(sql, false, |p| {
                p.tuple_header(0);
                Ok::<(), ()>(())
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .ok();
            loop {
                match w.next_frame().await.map_err(|e| bridge_failure(&e))? {
                    Frame::Complete { .. } => return Ok(()),
                    Frame::Error(e) => return Err(backend_error(&e)),
                    Frame::Description(_) | Frame::Batch(_) => {}
                }
            }
        }
        .await;
        if r.is_err() && !w.is_healthy() {
            // Dropped, not recycled: the pool replaces it.
            s.release_worker();
        }
        r
    }
}

/// PostgreSQL's checks on changing a transaction's characteristics once a
/// query has run in it (its first snapshot).
fn check_mode_change(s: &Session, list: &ModeList) -> PgWireResult<()> {
    if !s.txn.queried {
        return Ok(());
    }
    let now = s.txn.modes;
    let refused = if list.isolation.is_some_and(|i| i != now.isolation) {
        "SET TRANSACTION ISOLATION LEVEL must be called before any query"
    } else if list.read_only == Some(false) && now.read_only {
        "transaction read-write mode must be set before any query"
    } else if list.deferrable.is_some_and(|d| d != now.deferrable) {
        "SET TRANSACTION [NOT] DEFERRABLE must be called before any query"
    } else {
        return Ok(());
    };
    Err(error(ACTIVE_SQL_TRANSACTION, refused))
}
