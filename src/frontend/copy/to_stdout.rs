//! `COPY ... TO STDOUT`: the statement's SELECT runs on the worker like any
//! query (translated, supervised, streamed batch by batch), and its rows go
//! out as CopyData in the format asked for instead of DataRows.

use std::fmt::Debug;

use bytes::BytesMut;
use futures::{Sink, SinkExt};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::response::CommandComplete;

use super::encode::Encoder;
use super::options::Format;
use super::plan::CopyPlan;
use crate::bridge::marshal;
use crate::bridge::protocol::{self, ColumnMeta};
use crate::bridge::{Frame, Worker};
use crate::frontend::columns::{self, ResultColumn, resolve_columns};
use crate::frontend::errors::{
    FEATURE_NOT_SUPPORTED, backend_error, bridge_failure, error, value_error,
};
use crate::frontend::handler::Handler;
use crate::frontend::lease::ensure_worker;
use crate::frontend::session::Session;
use crate::frontend::stream::StreamEnd;
use crate::frontend::supervise;
use crate::pgtypes::mapping::ColumnType;
use crate::translate::Translation;

impl Handler {
    /// Runs `plan`'s SELECT and sends its rows: CopyOutResponse, one
    /// CopyData per row, CopyDone, `COPY n`.
    pub(crate) async fn copy_out<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        plan: &CopyPlan,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let t = &plan.translation;
        ensure_worker(&self.shared, s).await?;
        let inferred = columns::infer_columns(&self.shared, s, t, &[]).await?;
        let worker = s.worker.as_mut().expect("worker");
        worker
            .start_query(&t.backend_sql, true, |w| {
                w.tuple_header(0);
                Ok::<(), ()>(())
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .ok();
        let pid = worker.pid();
        let (end, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            stream_copy(client, worker, &mut s.scratch, plan, t, &inferred),
        )
        .await;
        let end = supervise::interrupted(end?, reason);
        self.after_statement(s, t, end)
    }
}

/// Reads the worker's answer and writes it as COPY data.
async fn stream_copy<C>(
    client: &mut C,
    worker: &mut Worker,
    out: &mut BytesMut,
    plan: &CopyPlan,
    t: &Translation,
    inferred: &[Option<ColumnType>],
) -> PgWireResult<StreamEnd>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let mut metas: Option<Vec<ColumnMeta>> = None;
    let mut started: Option<(Encoder, Vec<ResultColumn>)> = None;
    let mut rows = 0usize;
    loop {
        let frame = match worker.next_frame().await {
            Ok(f) => f,
            Err(e) => return Ok(StreamEnd::Failed(bridge_failure(&e))),
        };
        match frame {
            Frame::Description(payload) => {
                let mut r = marshal::Reader::new(payload);
                metas =
                    Some(protocol::parse_columns(&mut r).map_err(|e| bridge_failure(&e.into()))?);
            }
            Frame::Batch(payload) => {
                let width = metas.as_ref().map_or(0, Vec::len);
                let mut values = Vec::new();
                let n = marshal::decode_rows(payload, width, &mut values)
                    .map_err(|e| bridge_failure(&e.into()))?;
                if started.is_none() {
                    let first = (n > 0).then(|| &values[..width]);
                    let cols = resolve_columns(t, metas.as_deref().unwrap_or(&[]), inferred, first);
                    started = Some(start(client, out, plan, cols).await?);
                }
                let (encoder, cols) = started.as_mut().expect("started above");
                for row in values.chunks(width.max(1)).take(n) {
                    if let Err(e) = encoder.row(out, row, cols) {
                        // The worker is still answering: read it to its end.
                        let _ = worker.drain().await;
                        return Ok(StreamEnd::Failed(value_error(&e)));
                    }
                    send(client, out).await?;
                    rows += 1;
                }
            }
            Frame::Complete { .. } => {
                let Some(metas) = &metas else {
                    return Ok(StreamEnd::Failed(error(
                        FEATURE_NOT_SUPPORTED,
                        "COPY query must have a RETURNING clause",
                    )));
                };
                let (encoder, _) = match started {
                    Some(s) => s,
                    None => {
                        start(client, out, plan, resolve_columns(t, metas, inferred, None)).await?
                    }
                };
                encoder.trailer(out);
                if !out.is_empty() {
                    send(client, out).await?;
                }
                client
                    .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
                    .await?;
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        format!("COPY {rows}"),
                    )))
                    .await?;
                return Ok(StreamEnd::Complete { rows });
            }
            Frame::Error(e) => return Ok(StreamEnd::Failed(backend_error(&e))),
        }
    }
}

/// CopyOutResponse and the header. A header line goes out on its own, as
/// PostgreSQL sends it; the binary signature stays in `out` to lead the
/// first row's CopyData (psycopg reads it from there).
async fn start<C>(
    client: &mut C,
    out: &mut BytesMut,
    plan: &CopyPlan,
    cols: Vec<ResultColumn>,
) -> PgWireResult<(Encoder, Vec<ResultColumn>)>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let options = &plan.statement.options;
    let binary = options.format == Format::Binary;
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    client
        .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            i8::from(binary),
            cols.len() as i16,
            vec![i16::from(binary); cols.len()],
        )))
        .await?;
    let encoder = Encoder::new(options.clone(), &names);
    out.clear();
    encoder.header(out, &names);
    if !binary && !out.is_empty() {
        send(client, out).await?;
    }
    Ok((encoder, cols))
}

/// Sends what `out` holds as one CopyData.
async fn send<C>(client: &mut C, out: &mut BytesMut) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let data = out.split().freeze();
    client
        .feed(PgWireBackendMessage::CopyData(CopyData::new(data)))
        .await?;
    Ok(())
}
