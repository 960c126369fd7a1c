//! `DECLARE`, `FETCH`, `MOVE` and `CLOSE` on the wire: the cursor's query
//! started on the session's worker and left there ([`super::cursors`] holds
//! its rows and position), FETCH's rows sent as any result's, and the
//! Describe of a cursor by name (psycopg's server-side cursors describe the
//! portal DECLARE created).

use std::fmt::Debug;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Sink, SinkExt};
use pgwire::api::portal::Portal;
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::PortalSuspended;

use super::cursors::{Cursor, FetchIo};
use super::handler::Statement;
use super::handler::{Handler, PreparedStatement, complete};
use super::prepared_sql::statements;
use super::session_sql::{Count, Declare, Direction};
use super::transaction::in_block;
use crate::bridge::Frame;
use crate::bridge::marshal::{self, Reader};
use crate::bridge::protocol::{ColumnMeta, parse_columns};
use crate::frontend::columns::{resolve_columns, row_description};
use crate::frontend::errors::{DUPLICATE_CURSOR, INVALID_CURSOR_NAME, NO_ACTIVE_SQL_TRANSACTION};
use crate::frontend::errors::{backend_error, bridge_failure, error, value_error};
use crate::frontend::lease::{ensure_worker, release_if_idle};
use crate::frontend::session::{Session, SessionSlot};
use crate::frontend::stream::{self, StreamEnd, command_tag};
use crate::frontend::supervise;

fn no_such_cursor(name: &str) -> PgWireError {
    error(
        INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

/// What a DECLARE's query sent before its rows were wanted.
struct Opening {
    metas: Option<Vec<ColumnMeta>>,
    first_batch: Option<Vec<u8>>,
    complete: bool,
}

impl Handler {
    /// DECLARE: starts the query on the worker and leaves it there, after
    /// its description and first batch. `params`: the extended protocol's
    /// bound values for the query's `$n`.
    pub(super) async fn declare<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        d: &Declare,
        query: &PreparedStatement,
        params: &[Option<Bytes>],
        binary_param: &(dyn Fn(usize) -> bool + Sync),
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if s.cursors.contains(&d.name) {
            return Err(error(
                DUPLICATE_CURSOR,
                format!("cursor \"{}\" already exists", d.name),
            ));
        }
        if !d.hold && !in_block(s) {
            return Err(error(
                NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        self.enter_backend(s).await?;
        ensure_worker(&self.shared, s).await?;
        let t = &query.translation;
        let worker = s.worker.as_mut().expect("worker");
        let pid = worker.pid();
        worker
            .start_query(&t.backend_sql, query.columns.is_none(), |w| {
                stream::encode_params(t, params, &query.param_types, binary_param, w)
            })
            .await
            .map_err(|e| bridge_failure(&e))?
            .map_err(|e| value_error(&e))?;
        let reading = async {
            let mut o = Opening {
                metas: None,
                first_batch: None,
                complete: false,
            };
            loop {
                match worker.next_frame().await {
                    Ok(Frame::Description(p)) => {
                        o.metas = Some(
                            parse_columns(&mut Reader::new(p))
                                .map_err(|e| bridge_failure(&e.into()))?,
                        );
                    }
                    Ok(Frame::Batch(p)) => {
                        o.first_batch = Some(p.to_vec());
                        return Ok(o);
                    }
                    Ok(Frame::Complete { .. }) => {
                        o.complete = true;
                        return Ok(o);
                    }
                    Ok(Frame::Error(e)) => return Err(backend_error(&e)),
                    Err(e) => return Err(bridge_failure(&e)),
                }
            }
        };
        let (opened, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            s.statement_timeout,
            self.shared.config().server.cancel_grace,
            reading,
        )
        .await;
        let opened = match opened {
            Ok(o) => o,
            Err(e) => {
                let end = supervise::interrupted(StreamEnd::Failed(e), reason);
                return self.after_statement(s, t, end);
            }
        };
        let columns = match &query.columns {
            Some(c) => c.clone(),
            None => {
                let metas = opened.metas.unwrap_or_default();
                let mut values = Vec::new();
                let first_row = match &opened.first_batch {
                    Some(b)
                        if marshal::decode_rows(b, metas.len(), &mut values).unwrap_or(0) > 0 =>
                    {
                        Some(&values[..metas.len()])
                    }
                    _ => None,
                };
                Arc::new(resolve_columns(t, &metas, &[], first_row))
            }
        };
        let mut cursor = Cursor::new(
            columns,
            t.clone(),
            d.binary,
            d.scroll == Some(true),
            d.hold,
            opened.first_batch,
            (!opened.complete).then_some(pid),
        )
        .map_err(|e| bridge_failure(&e))?;
        if !in_block(s) {
            // WITH HOLD outside a block: its own transaction commits at once.
            cursor.materialise(s.worker.as_deref_mut()).await?;
            cursor.uncommitted = false;
        }
        s.cursors.insert(d.name.clone(), cursor);
        release_if_idle(&self.shared, s);
        complete(client, "DECLARE CURSOR").await
    }

    /// FETCH (rows sent) or MOVE (`moving`: rows passed over). `formats`:
    /// the extended protocol's result formats; `None` on the simple
    /// protocol, which gets a RowDescription first, in the cursor's
    /// format (binary for `DECLARE ... BINARY`).
    pub(super) async fn fetch_cursor<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        name: &str,
        direction: Direction,
        moving: bool,
        formats: Option<&[bool]>,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        // Taken out while it runs, so the worker can be borrowed beside it.
        let mut cursor = s.cursors.remove(name).ok_or_else(|| no_such_cursor(name))?;
        let binary = match formats {
            Some(f) => f.to_vec(),
            None => vec![cursor.binary; cursor.columns.len()],
        };
        if formats.is_none() && !moving {
            client
                .feed(PgWireBackendMessage::RowDescription(row_description(
                    &cursor.columns,
                    &binary,
                )))
                .await?;
        }
        let r = self
            .fetch_supervised(client, s, &mut cursor, direction, !moving, &binary, false)
            .await;
        let translation = cursor.translation.clone();
        s.cursors.insert(name.to_owned(), cursor);
        let n = match r {
            Ok((n, _)) => n,
            Err(end) => return self.after_statement(s, &translation, end),
        };
        let tag = format!("{} {n}", if moving { "MOVE" } else { "FETCH" });
        complete(client, &tag).await?;
        let rows = if moving { 0 } else { n as usize };
        self.after_statement(s, &translation, StreamEnd::Complete { rows })
    }

    /// Runs a FETCH on `cursor` under the statement timeout and cancel
    /// requests (when its rows come from the worker); `peek`: also tells
    /// whether a row follows.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_supervised<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        cursor: &mut Cursor,
        direction: Direction,
        emit: bool,
        binary: &[bool],
        peek: bool,
    ) -> Result<(u64, bool), StreamEnd>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let pid = s.worker.as_ref().map_or(0, |w| w.pid());
        let timeout = if cursor.is_streaming() {
            s.statement_timeout
        } else {
            std::time::Duration::ZERO
        };
        let mut io = FetchIo {
            client: &mut *client,
            scratch: &mut s.scratch,
            binary,
            worker: s.worker.as_deref_mut(),
        };
        let work = async {
            let n = cursor.fetch(direction, emit, &mut io).await?;
            let more = peek && cursor.has_more(io.worker.as_deref_mut()).await?;
            Ok((n, more))
        };
        let (r, reason) = supervise::supervised(
            s.client.as_ref(),
            pid,
            timeout,
            self.shared.config().server.cancel_grace,
            work,
        )
        .await;
        r.map_err(|e| supervise::interrupted(StreamEnd::Failed(e), reason))
    }

    /// Parks the session's suspended protocol portal as a cursor, so its
    /// worker is free for another statement and the portal can go on later
    /// (PostgreSQL keeps every portal of a transaction open; asyncpg opens
    /// several cursors, and MOVEs one with a simple Query). A portal whose
    /// columns are unknown stays as it is.
    pub(super) fn park_portal<C>(&self, client: &C, s: &mut Session) -> PgWireResult<()>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        let Some(name) = s.active.as_ref().map(|a| a.name.clone()) else {
            return Ok(());
        };
        let Some(Entry::Value(portal)) = statements(client)?.get_portal(&name) else {
            return Ok(());
        };
        let stmt = &portal.statement.statement;
        let (Some(columns), Some(pid)) = (stmt.columns.clone(), s.worker.as_ref().map(|w| w.pid()))
        else {
            return Ok(());
        };
        let active = s.active.take().expect("active portal");
        let cursor = Cursor::parked(
            columns,
            stmt.translation.clone(),
            active.pending,
            active.rows_sent,
            pid,
        )
        .map_err(|e| bridge_failure(&e))?;
        s.cursors.insert(name, cursor);
        Ok(())
    }

    /// Execute of a parked portal: up to `max_rows` more rows, then
    /// PortalSuspended while rows remain, else CommandComplete (the
    /// portal is done).
    pub(super) async fn resume_parked<C>(
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
        let name = portal.name.as_str();
        let mut cursor = s.cursors.remove(name).ok_or_else(|| no_such_cursor(name))?;
        let binary: Vec<bool> = (0..cursor.columns.len())
            .map(|i| portal.result_column_format.is_binary(i))
            .collect();
        let count = match max_rows {
            0 => Count::All,
            n => Count::Rows(n as i64),
        };
        let r = self
            .fetch_supervised(
                client,
                s,
                &mut cursor,
                Direction::Forward(count),
                true,
                &binary,
                max_rows > 0,
            )
            .await;
        let translation = cursor.translation.clone();
        let (n, more) = match r {
            Ok(done) => done,
            Err(end) => {
                s.cursors.insert(name.to_owned(), cursor);
                return self.after_statement(s, &translation, end);
            }
        };
        if more {
            s.cursors.insert(name.to_owned(), cursor);
            client
                .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                .await?;
            return Ok(());
        }
        complete(
            client,
            &command_tag(&translation, cursor.rows_returned(), -1),
        )
        .await?;
        self.after_statement(s, &translation, StreamEnd::Complete { rows: n as usize })
    }

    /// CLOSE name | ALL: the rest of a result still on the worker is read
    /// off and dropped.
    pub(super) async fn close_cursor<C>(
        &self,
        client: &mut C,
        s: &mut Session,
        name: Option<&str>,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let r = match name {
            Some(n) => {
                let mut c = s.cursors.remove(n).ok_or_else(|| no_such_cursor(n))?;
                c.discard(s.worker.as_deref_mut()).await
            }
            None => s.cursors.close_all(s.worker.as_deref_mut()).await,
        };
        if let Err(e) = r {
            s.release_worker();
            return Err(bridge_failure(&e));
        }
        release_if_idle(&self.shared, s);
        complete(
            client,
            if name.is_some() {
                "CLOSE CURSOR"
            } else {
                "CLOSE CURSOR ALL"
            },
        )
        .await
    }
}

/// The RowDescription of the session's cursor `name`, for a Describe of
/// the portal DECLARE created.
pub(super) fn cursor_description<C: ClientInfo>(client: &C, name: &str) -> Option<RowDescription> {
    let slot = client.session_extensions().get::<SessionSlot>()?;
    let guard = slot.0.lock().expect("session slot");
    let c = guard.as_ref()?.cursors.get(name)?;
    let binary = vec![c.binary; c.columns.len()];
    Some(row_description(&c.columns, &binary))
}
