//! Streaming a running statement's result to the client: RowDescription,
//! DataRows batch by batch, then CommandComplete or PortalSuspended.

use std::fmt::Debug;
use std::sync::Arc;

use bytes::BytesMut;
use futures::{Sink, SinkExt};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::response::CommandComplete;

use crate::bridge::marshal::{self, Value, Writer};
use crate::bridge::protocol::{self, ColumnMeta};
use crate::bridge::{Frame, Worker};
use crate::frontend::columns::{ResultColumn, resolve_columns, row_description};
use crate::frontend::errors::INTERNAL_ERROR;
use crate::frontend::errors::{backend_error, bridge_failure, error};
use crate::frontend::result_row::send_row;
use crate::frontend::session::ActivePortal;
use crate::pgtypes::mapping::ColumnType;
use crate::pgtypes::{self, ValueError};
use crate::translate::{StatementKind, Translation};

/// The CommandComplete text PostgreSQL would send.
pub fn command_tag(t: &Translation, rows: usize, rowcount: i64) -> String {
    let affected = if rowcount >= 0 {
        rowcount as usize
    } else {
        rows
    };
    match t.kind {
        StatementKind::Select => format!("SELECT {rows}"),
        StatementKind::Insert => format!("INSERT 0 {affected}"),
        StatementKind::Update => format!("UPDATE {affected}"),
        StatementKind::Delete => format!("DELETE {affected}"),
        _ => t.tag.clone(),
    }
}

/// Encodes client parameters (in `$n` order) as the marshal tuple of the
/// backend's `?` placeholders.
pub fn encode_params(
    t: &Translation,
    params: &[Option<bytes::Bytes>],
    param_types: &[Type],
    binary: &dyn Fn(usize) -> bool,
    out: &mut Writer<'_>,
) -> Result<(), ValueError> {
    out.tuple_header(t.param_order.len());
    for &p in &t.param_order {
        let raw = params.get(p).and_then(|b| b.as_deref());
        let ty = param_types.get(p).unwrap_or(&Type::TEXT);
        pgtypes::write_param(out, raw, ty, binary(p))?;
    }
    Ok(())
}

/// How a result stream ended.
pub enum StreamEnd {
    Complete { rows: usize },
    Suspended,
    Failed(PgWireError),
}

/// What to stream and how: one statement's result on its way to the client.
///
/// `columns` is `Some` when the client already has the RowDescription
/// (extended protocol); otherwise it is built from the `D` frame and the
/// first batch and sent before the first row; the backend's declared
/// types come from `known` (a cached description) or, when that is `None`,
/// from the `D` frame, which is then handed back for caching.
pub(crate) struct ResultStream<'a> {
    pub translation: &'a Translation,
    pub columns: Option<Arc<Vec<ResultColumn>>>,
    /// Per result column: binary format requested.
    pub binary: &'a [bool],
    /// Stop after this many rows (0: no limit), keeping the cut batch in
    /// the portal.
    pub max_rows: usize,
    pub known: Option<&'a [ColumnMeta]>,
    pub inferred: &'a [Option<ColumnType>],
}

impl ResultStream<'_> {
    /// Streams the worker's running statement to `client`. `parsed`
    /// receives the backend's description when it had to be read from the
    /// `D` frame.
    pub(crate) async fn run<C>(
        self,
        client: &mut C,
        worker: &mut Worker,
        session_scratch: &mut BytesMut,
        portal: &mut Option<ActivePortal>,
        parsed: &mut Option<Vec<ColumnMeta>>,
    ) -> PgWireResult<StreamEnd>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let ResultStream {
            translation: t,
            mut columns,
            binary,
            max_rows,
            known,
            inferred,
        } = self;
        let mut out = RowBudget {
            max_rows,
            sent_in_call: 0,
            total: portal.as_ref().map(|p| p.rows_sent).unwrap_or(0),
        };

        // Rows of a batch cut short by a previous Execute come first.
        if let Some((bytes, skip)) = portal.as_mut().and_then(|p| p.pending.take()) {
            let cols = columns.clone().unwrap_or_default();
            let cut = {
                let mut vals = Vec::new();
                let n = marshal::decode_rows(&bytes, cols.len(), &mut vals)
                    .map_err(|e| bridge_failure(&e.into()))?;
                let width = cols.len();
                let rows = (0..n).map(|i| &vals[i * width..(i + 1) * width]);
                out.send(client, session_scratch, rows, skip, &cols, binary)
                    .await?
            };
            if let Some(i) = cut {
                return out.suspend(client, portal, bytes, i).await;
            }
        }

        loop {
            let frame = match worker.next_frame().await {
                Ok(f) => f,
                Err(e) => return Ok(StreamEnd::Failed(bridge_failure(&e))),
            };
            match frame {
                Frame::Description(payload) => {
                    if columns.is_none() && known.is_none() {
                        let mut r = marshal::Reader::new(payload);
                        *parsed = Some(
                            protocol::parse_columns(&mut r)
                                .map_err(|e| bridge_failure(&e.into()))?,
                        );
                    }
                }
                Frame::Batch(payload) => {
                    let metas = parsed.as_deref().or(known);
                    let width = match (&columns, metas) {
                        (Some(c), _) => c.len(),
                        (None, Some(m)) => m.len(),
                        (None, None) => {
                            return Ok(StreamEnd::Failed(error(
                                INTERNAL_ERROR,
                                "bridge sent rows without a description",
                            )));
                        }
                    };
                    // One Vec per batch (not per row); it borrows the frame buffer.
                    let mut values = Vec::new();
                    let n = marshal::decode_rows(payload, width, &mut values)
                        .map_err(|e| bridge_failure(&e.into()))?;
                    if columns.is_none() {
                        let first = (n > 0).then(|| &values[..width]);
                        let cols = resolve_columns(t, metas.unwrap_or(&[]), inferred, first);
                        client
                            .feed(PgWireBackendMessage::RowDescription(row_description(
                                &cols, binary,
                            )))
                            .await?;
                        columns = Some(Arc::new(cols));
                    }
                    let cols = columns.clone().unwrap_or_default();
                    // Zero-width rows (`SELECT FROM t`) still count, one by one.
                    let rows = (0..n).map(|i| &values[i * width..(i + 1) * width]);
                    if let Some(i) = out
                        .send(client, session_scratch, rows, 0, &cols, binary)
                        .await?
                    {
                        let bytes = payload.to_vec();
                        return out.suspend(client, portal, bytes, i).await;
                    }
                }
                Frame::Complete { rowcount, .. } => {
                    if columns.is_none()
                        && let Some(m) = parsed.as_deref().or(known)
                    {
                        let cols = resolve_columns(t, m, inferred, None);
                        client
                            .feed(PgWireBackendMessage::RowDescription(row_description(
                                &cols, binary,
                            )))
                            .await?;
                    }
                    let tag = command_tag(t, out.total, rowcount);
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            tag,
                        )))
                        .await?;
                    *portal = None;
                    return Ok(StreamEnd::Complete { rows: out.total });
                }
                Frame::Error(e) => {
                    *portal = None;
                    return Ok(StreamEnd::Failed(backend_error(&e)));
                }
            }
        }
    }
}

/// Rows sent by one call against the Execute's `max_rows`.
struct RowBudget {
    /// 0: no limit.
    max_rows: usize,
    sent_in_call: usize,
    /// Rows of the whole result so far, for the command tag.
    total: usize,
}

impl RowBudget {
    /// Sends a decoded batch's rows from `skip` on; `Some(i)` when
    /// `max_rows` stopped it before row `i`.
    async fn send<'r, 'b: 'r, C>(
        &mut self,
        client: &mut C,
        scratch: &mut BytesMut,
        rows: impl Iterator<Item = &'r [Value<'b>]>,
        skip: usize,
        cols: &[ResultColumn],
        binary: &[bool],
    ) -> PgWireResult<Option<usize>>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        for (i, row) in rows.enumerate().skip(skip) {
            if self.max_rows != 0 && self.sent_in_call == self.max_rows {
                return Ok(Some(i));
            }
            send_row(client, scratch, row, cols, binary).await?;
            self.sent_in_call += 1;
            self.total += 1;
        }
        Ok(None)
    }

    /// Keeps the rest of the cut batch in the portal and tells the client.
    async fn suspend<C>(
        &self,
        client: &mut C,
        portal: &mut Option<ActivePortal>,
        batch: Vec<u8>,
        next: usize,
    ) -> PgWireResult<StreamEnd>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        *portal = Some(ActivePortal {
            name: portal.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            pending: Some((batch, next)),
            rows_sent: self.total,
        });
        client
            .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
            .await?;
        Ok(StreamEnd::Suspended)
    }
}
