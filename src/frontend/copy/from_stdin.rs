//! `COPY ... FROM STDIN`: the client's rows, decoded as they arrive, typed
//! by the target columns and sent to the worker in batches (`M` requests),
//! all inside one transaction, so that a COPY either inserts every row or
//! none.
//!
//! While the worker inserts one batch, the next is decoded from the
//! client's CopyData; its answer is read only before the next batch is
//! sent. Memory stays bounded by one incomplete input row, one batch being
//! built and one being inserted.

use std::sync::Arc;
use std::time::Instant;

use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

use super::decode::{Decoder, InputError, Row};
use super::options::Format;
use super::plan::CopyPlan;
use crate::bridge::Frame;
use crate::bridge::marshal::Writer;
use crate::frontend::errors::{
    INTERNAL_ERROR, QUERY_CANCELED, backend_error, bridge_failure, error,
};
use crate::frontend::handler::Handler;
use crate::frontend::lease::ensure_worker;
use crate::frontend::session::Session;
use crate::frontend::supervise;
use crate::pgtypes;
use crate::state::clients::InterruptReason;

/// A batch goes to the worker at this many rows...
const BATCH_ROWS: usize = 1000;
/// ...or at this many bytes of parameters, whichever comes first.
const BATCH_BYTES: usize = 1 << 20;

/// PostgreSQL prints at most this many bytes of a value in a CONTEXT line.
const MAX_CONTEXT_VALUE: usize = 100;

/// One COPY FROM STDIN between its CopyInResponse and its CopyDone.
pub(crate) struct CopyIn {
    pub plan: Arc<CopyPlan>,
    decoder: Decoder,
    /// Marshal tuples of the batch being built, back to back.
    batch: Vec<u8>,
    batch_rows: usize,
    /// The input line of each row of the batch being built.
    batch_lines: Vec<u64>,
    /// The lines of the batch the worker is inserting, until its answer is read.
    in_flight: Option<Vec<u64>>,
    /// This COPY opened the transaction (and ends it).
    began: bool,
    rows: u64,
    pub started: Instant,
    /// The client's statement, for the slow-query log.
    pub sql: String,
}

impl CopyIn {
    pub fn new(plan: Arc<CopyPlan>, sql: &str, began: bool) -> CopyIn {
        let names = plan.columns.iter().map(|(n, _)| n.clone()).collect();
        let decoder = Decoder::new(plan.statement.options.clone(), names);
        CopyIn {
            plan,
            decoder,
            batch: Vec::new(),
            batch_rows: 0,
            batch_lines: Vec::with_capacity(BATCH_ROWS),
            in_flight: None,
            began,
            rows: 0,
            started: Instant::now(),
            sql: sql.to_owned(),
        }
    }

    /// One CopyData message: every row it completes joins the batch; a
    /// full batch goes to the worker.
    pub async fn receive(&mut self, h: &Handler, s: &mut Session, data: &[u8]) -> PgWireResult<()> {
        self.decoder.feed(data);
        self.take_rows(h, s, false).await
    }

    /// CopyDone: the last rows, the last batch, then COMMIT when this COPY
    /// began the transaction. Returns the rows inserted.
    pub async fn finish(&mut self, h: &Handler, s: &mut Session) -> PgWireResult<u64> {
        self.take_rows(h, s, true).await?;
        self.send_batch(h, s).await?;
        self.settle(h, s).await?;
        if self.began {
            // A COMMIT that fails (a deferred constraint) leaves the
            // transaction to `abort`'s ROLLBACK.
            run_control(s, "COMMIT").await?;
            self.began = false;
        }
        Ok(self.rows)
    }

    /// After a failure: waits out the batch in flight and rolls back what
    /// this COPY began. Inside the client's own transaction the rows stay
    /// until the client rolls back, as the transaction is aborted.
    pub async fn abort(&mut self, s: &mut Session) {
        if self.in_flight.take().is_some()
            && let Some(w) = s.worker.as_mut()
            && w.drain().await.is_err()
        {
            s.release_worker();
        }
        if self.began && s.worker.as_ref().is_some_and(|w| w.in_transaction) {
            // A failed ROLLBACK leaves the worker broken; the pool drops it.
            let _ = run_control(s, "ROLLBACK").await;
        }
        self.began = false;
    }

    async fn take_rows(&mut self, h: &Handler, s: &mut Session, at_end: bool) -> PgWireResult<()> {
        let binary = self.plan.statement.options.format == Format::Binary;
        loop {
            let row = match self.decoder.next_row(at_end) {
                Ok(Some(row)) => row,
                Ok(None) => return Ok(()),
                Err(e) => return Err(input_error(&self.plan, e)),
            };
            push_row(&mut self.batch, &self.plan, &row, binary)?;
            self.batch_lines.push(row.line);
            self.batch_rows += 1;
            if self.batch_rows >= BATCH_ROWS || self.batch.len() >= BATCH_BYTES {
                self.send_batch(h, s).await?;
            }
        }
    }

    /// Sends the batch being built, once the worker has answered the last.
    async fn send_batch(&mut self, h: &Handler, s: &mut Session) -> PgWireResult<()> {
        if self.batch_rows == 0 {
            return Ok(());
        }
        self.settle(h, s).await?;
        ensure_worker(&h.shared, s).await?;
        let worker = s.worker.as_mut().expect("worker");
        worker
            .start_many(
                &self.plan.translation.backend_sql,
                self.batch_rows,
                &self.batch,
            )
            .await
            .map_err(|e| bridge_failure(&e))?;
        self.in_flight = Some(std::mem::replace(
            &mut self.batch_lines,
            Vec::with_capacity(BATCH_ROWS),
        ));
        self.batch.clear();
        self.batch_rows = 0;
        Ok(())
    }

    /// Reads the answer to the batch in flight, under the statement
    /// timeout and cancel requests.
    async fn settle(&mut self, h: &Handler, s: &mut Session) -> PgWireResult<()> {
        let Some(lines) = self.in_flight.take() else {
            return Ok(());
        };
        let worker = s
            .worker
            .as_mut()
            .ok_or_else(|| error(INTERNAL_ERROR, "COPY lost its worker"))?;
        let pid = worker.pid();
        let answer = async {
            match worker.next_frame().await {
                Ok(Frame::Complete { rowcount, .. }) => Ok(Ok(rowcount)),
                Ok(Frame::Error(e)) => Ok(Err(e)),
                Ok(_) => Err(error(INTERNAL_ERROR, "unexpected answer to a COPY batch")),
                Err(e) => Err(bridge_failure(&e)),
            }
        };
        let (answer, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            h.shared.config().server.cancel_grace,
            answer,
        )
        .await;
        let failed = |e: PgWireError| match reason {
            InterruptReason::None => e,
            reason => error(QUERY_CANCELED, reason.message()),
        };
        match answer.map_err(failed)? {
            Ok(rowcount) => {
                self.rows += if rowcount >= 0 {
                    rowcount as u64
                } else {
                    lines.len() as u64
                };
                Ok(())
            }
            Err(e) => {
                let mut err = failed(backend_error(&e));
                if let PgWireError::UserError(info) = &mut err {
                    info.where_context = Some(match e.row.and_then(|i| lines.get(i)) {
                        Some(line) => {
                            format!("COPY {}, line {line}", self.plan.statement.table_name())
                        }
                        // The backend cannot say which: the batch's lines.
                        None => format!(
                            "COPY {}, lines {}-{}",
                            self.plan.statement.table_name(),
                            lines.first().copied().unwrap_or(0),
                            lines.last().copied().unwrap_or(0)
                        ),
                    });
                }
                Err(err)
            }
        }
    }
}

/// Appends one row to the batch as the marshal tuple of the INSERT's
/// parameters, each value read as its column's type (text and CSV fields
/// in the type's text form, binary fields in its binary form).
fn push_row(batch: &mut Vec<u8>, plan: &CopyPlan, row: &Row<'_>, binary: bool) -> PgWireResult<()> {
    let mark = batch.len();
    let t = &plan.translation;
    let failed = {
        let mut w = Writer { buf: batch };
        w.tuple_header(t.param_order.len());
        t.param_order.iter().find_map(|&p| {
            let (_, ty) = &plan.columns[p];
            pgtypes::write_param(&mut w, row.field(p), ty, binary)
                .err()
                .map(|e| (p, e))
        })
    };
    let Some((p, e)) = failed else {
        return Ok(());
    };
    batch.truncate(mark);
    let message = if e.sqlstate == "22P03" {
        "incorrect binary data format".to_owned()
    } else {
        e.message
    };
    let table = plan.statement.table_name();
    let name = &plan.columns[p].0;
    let context = match (binary, row.field(p)) {
        (false, Some(v)) => format!(
            "COPY {table}, line {}, column {name}: \"{}\"",
            row.line,
            shortened(&String::from_utf8_lossy(v))
        ),
        _ => format!("COPY {table}, line {}, column {name}", row.line),
    };
    let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate.into(), message);
    info.where_context = Some(context);
    Err(PgWireError::UserError(Box::new(info)))
}

/// A value as PostgreSQL's CONTEXT prints it: at most 100 bytes, then `...`.
fn shortened(v: &str) -> String {
    if v.len() <= MAX_CONTEXT_VALUE {
        return v.to_owned();
    }
    let mut cut = MAX_CONTEXT_VALUE;
    while !v.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &v[..cut])
}

/// A decoding error, with PostgreSQL's CONTEXT: the line, and its text in
/// the text and CSV formats.
fn input_error(plan: &CopyPlan, e: InputError) -> PgWireError {
    let table = plan.statement.table_name();
    let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate.into(), e.message);
    info.hint = e.hint.map(str::to_owned);
    info.where_context = Some(match e.text {
        Some(text) => format!("COPY {table}, line {}: \"{}\"", e.line, shortened(&text)),
        None => format!("COPY {table}, line {}", e.line),
    });
    PgWireError::UserError(Box::new(info))
}

/// Runs a transaction statement (`BEGIN`, `COMMIT`, `ROLLBACK`, already in
/// the backend's dialect) on the session's worker and waits for its end.
pub(crate) async fn run_control(s: &mut Session, sql: &str) -> PgWireResult<()> {
    let worker = s
        .worker
        .as_mut()
        .ok_or_else(|| error(INTERNAL_ERROR, "COPY lost its worker"))?;
    worker
        .start_query(sql, false, |w| {
            w.tuple_header(0);
            Ok::<(), ()>(())
        })
        .await
        .map_err(|e| bridge_failure(&e))?
        .ok();
    loop {
        match worker.next_frame().await.map_err(|e| bridge_failure(&e))? {
            Frame::Complete { .. } => return Ok(()),
            Frame::Error(e) => return Err(backend_error(&e)),
            Frame::Description(_) | Frame::Batch(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_values_are_cut_at_100_bytes() {
        assert_eq!(shortened("abc"), "abc");
        let long = "é".repeat(60);
        let cut = shortened(&long);
        assert!(cut.ends_with("..."));
        assert_eq!(cut.len(), 100 + 3);
    }
}
