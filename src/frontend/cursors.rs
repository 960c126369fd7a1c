//! SQL cursors (`DECLARE ... CURSOR`): their rows and their position, and
//! FETCH/MOVE as PostgreSQL's executor carries them out.
//!
//! A cursor is a statement left running on the session's worker: rows come
//! off the worker's pipe batch by batch only as FETCH asks for them, so a
//! cursor over millions of rows costs one batch of memory. The worker runs
//! one statement at a time, so when anything else needs it (another
//! statement, another cursor, COMMIT of a WITH HOLD cursor) the rest of the
//! cursor's result is read into memory first ("materialised").
//!
//! Without SCROLL a cursor forgets rows it has moved past, as PostgreSQL's
//! NO SCROLL cursors cannot return to them; a SCROLL cursor keeps every
//! row it has read, so it can go back (docs/compatibility.md).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use bytes::BytesMut;
use futures::Sink;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::cursor_rows::{Rows, Source};
use super::session_sql::{Count, Direction};
use crate::bridge::marshal;
use crate::bridge::{BridgeError, Worker};
use crate::frontend::errors::FEATURE_NOT_SUPPORTED;
use crate::frontend::errors::bridge_failure;
use crate::frontend::result_row::ResultColumn;
use crate::frontend::result_row::send_row;
use crate::translate::Translation;

/// Where FETCH sends rows: the client, in these formats, with the worker
/// the rows may still come from.
pub(crate) struct FetchIo<'a, C> {
    pub client: &'a mut C,
    pub scratch: &'a mut BytesMut,
    /// Per column: binary format.
    pub binary: &'a [bool],
    pub worker: Option<&'a mut Worker>,
}

/// An open cursor.
pub struct Cursor {
    pub(crate) columns: Arc<Vec<ResultColumn>>,
    /// `DECLARE ... BINARY`: rows in binary format over the simple protocol.
    pub(crate) binary: bool,
    pub(crate) scroll: bool,
    pub(crate) hold: bool,
    /// Declared in the transaction still open: its rollback closes the
    /// cursor, WITH HOLD or not.
    pub(crate) uncommitted: bool,
    /// The cursor's query, for metrics and the end of a failed FETCH.
    pub(crate) translation: Arc<Translation>,
    rows: Rows,
    /// PostgreSQL's position: 0 before the first row, n on the n-th,
    /// total + 1 past the last.
    pos: usize,
    /// A protocol portal parked here (see `Cursor::parked`): the rows it
    /// had returned before the rows held.
    parked: Option<usize>,
}

impl Cursor {
    /// A cursor over a statement running on `worker_pid`, whose first
    /// frames have been read: `first_batch`, and whether the statement
    /// already completed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        columns: Arc<Vec<ResultColumn>>,
        translation: Arc<Translation>,
        binary: bool,
        scroll: bool,
        hold: bool,
        first_batch: Option<Vec<u8>>,
        worker_pid: Option<u32>,
    ) -> Result<Cursor, BridgeError> {
        let mut rows = Rows::new(worker_pid);
        if let Some(b) = first_batch {
            rows.push(b)?;
        }
        Ok(Cursor {
            columns,
            binary,
            scroll,
            hold,
            uncommitted: true,
            translation,
            rows,
            pos: 0,
            parked: None,
        })
    }

    /// A suspended protocol portal taken over as a cursor, so another
    /// statement can have the worker: `pending` is the batch it was cut in
    /// and how many of that batch's rows it sent; `rows_sent` in all.
    pub(crate) fn parked(
        columns: Arc<Vec<ResultColumn>>,
        translation: Arc<Translation>,
        pending: Option<(Vec<u8>, usize)>,
        rows_sent: usize,
        worker_pid: u32,
    ) -> Result<Cursor, BridgeError> {
        let (batch, sent_of_batch) = match pending {
            Some((b, i)) => (Some(b), i),
            None => (None, 0),
        };
        let mut c = Cursor::new(
            columns,
            translation,
            false,
            false,
            false,
            batch,
            Some(worker_pid),
        )?;
        c.pos = sent_of_batch;
        c.parked = Some(rows_sent - sent_of_batch);
        Ok(c)
    }

    pub(crate) fn is_parked_portal(&self) -> bool {
        self.parked.is_some()
    }

    /// Whether a row follows the position (reading from the worker if need be).
    pub(crate) async fn has_more(&mut self, worker: Option<&mut Worker>) -> PgWireResult<bool> {
        if self.at_end() {
            return Ok(false);
        }
        self.rows.ensure(self.pos, worker).await
    }

    /// The rows a parked portal has returned in all, for its command tag.
    pub(crate) fn rows_returned(&self) -> usize {
        self.parked.unwrap_or(0) + self.pos.min(self.rows.total().unwrap_or(usize::MAX))
    }

    /// Whether the worker is still sending this cursor's rows.
    pub(crate) fn is_streaming(&self) -> bool {
        matches!(self.rows.source, Source::Worker(_))
    }

    /// Reads the rest of the result into memory, freeing the worker.
    pub(crate) async fn materialise(
        &mut self,
        mut worker: Option<&mut Worker>,
    ) -> PgWireResult<()> {
        while self.is_streaming() {
            self.rows.pull(worker.as_deref_mut()).await?;
        }
        Ok(())
    }

    /// Discards the rest of the result still coming from the worker.
    pub(crate) async fn discard(&mut self, worker: Option<&mut Worker>) -> Result<(), BridgeError> {
        if let Source::Worker(pid) = self.rows.source {
            self.rows.source = Source::Done;
            if let Some(w) = worker.filter(|w| w.pid() == pid) {
                w.drain().await?;
            }
        }
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.rows.total().is_some_and(|t| self.pos == t + 1)
    }

    /// FETCH (`emit`) or MOVE in `direction`, as PostgreSQL's
    /// `DoPortalRunFetch` does it; returns the count for the command tag.
    pub(crate) async fn fetch<C>(
        &mut self,
        direction: Direction,
        emit: bool,
        io: &mut FetchIo<'_, C>,
    ) -> PgWireResult<u64>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let r = self.run_fetch(direction, emit, io).await;
        if !self.scroll {
            self.rows.forget_before(self.pos);
        }
        r
    }

    async fn run_fetch<C>(
        &mut self,
        direction: Direction,
        emit: bool,
        io: &mut FetchIo<'_, C>,
    ) -> PgWireResult<u64>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        use Count::{All, Rows as N};
        let (mut forward, mut count) = match direction {
            Direction::Absolute(n) => return self.absolute(n, emit, io).await,
            Direction::Relative(n) if n > 1 => {
                self.select(true, N(n - 1), false, io).await?;
                return self.select(true, N(1), emit, io).await;
            }
            Direction::Relative(n) if n < -1 => {
                self.select(false, N(-n - 1), false, io).await?;
                return self.select(false, N(1), emit, io).await;
            }
            Direction::Relative(n) => (n >= 0, N(n.abs())),
            Direction::Forward(c) => (true, c),
            Direction::Backward(c) => (false, c),
        };
        if let N(n) = count
            && n < 0
        {
            forward = !forward;
            count = N(-n);
        }
        if count == N(0) {
            // FETCH 0 returns the current row again (MOVE 0 says whether there is one).
            let on_row = self.pos > 0 && !self.at_end();
            if !emit {
                return Ok(on_row as u64);
            }
            if on_row {
                self.select(false, N(1), false, io).await?;
                (forward, count) = (true, N(1));
            }
        }
        if !forward && count == All && !emit {
            // MOVE BACKWARD ALL: a rewind, counting the rows passed.
            let passed = if self.at_end() {
                self.pos - 1
            } else {
                self.pos.saturating_sub(1)
            };
            self.rewind()?;
            return Ok(passed as u64);
        }
        self.select(forward, count, emit, io).await
    }

    async fn absolute<C>(
        &mut self,
        n: i64,
        emit: bool,
        io: &mut FetchIo<'_, C>,
    ) -> PgWireResult<u64>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        use Count::{All, Rows as N};
        if n > 0 {
            // PostgreSQL rewinds when the target is nearer the start than
            // the current row, and otherwise moves relative to where it is.
            let portal_pos = self.pos - self.at_end() as usize;
            let target = n as usize;
            if target - 1 <= portal_pos / 2 {
                self.rewind()?;
                if target > 1 {
                    self.select(true, N(n - 1), false, io).await?;
                }
            } else if target <= self.pos {
                self.select(false, N((self.pos - target + 1) as i64), false, io)
                    .await?;
            } else if target > self.pos + 1 {
                self.select(true, N((target - self.pos - 1) as i64), false, io)
                    .await?;
            }
            self.select(true, N(1), emit, io).await
        } else if n < 0 {
            self.select(true, All, false, io).await?;
            if n < -1 {
                self.select(false, N(-n - 1), false, io).await?;
            }
            self.select(false, N(1), emit, io).await
        } else {
            self.rewind()?;
            Ok(0)
        }
    }

    fn rewind(&mut self) -> PgWireResult<()> {
        if self.pos == 0 {
            return Ok(());
        }
        if !self.scroll {
            return Err(scan_forward_only());
        }
        self.pos = 0;
        Ok(())
    }

    /// PostgreSQL's `PortalRunSelect`: up to `count` rows forward or
    /// backward from the position, sent when `emit`.
    async fn select<C>(
        &mut self,
        forward: bool,
        count: Count,
        emit: bool,
        io: &mut FetchIo<'_, C>,
    ) -> PgWireResult<u64>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if !forward && !self.scroll {
            return Err(scan_forward_only());
        }
        let limit = match count {
            Count::All => usize::MAX,
            Count::Rows(n) if n <= 0 => return Ok(0),
            Count::Rows(n) => n as usize,
        };
        let mut n = 0;
        if forward {
            if self.at_end() {
                return Ok(0);
            }
            while n < limit {
                let idx = self.pos + n;
                if !self.rows.ensure(idx, io.worker.as_deref_mut()).await? {
                    break;
                }
                n += self.send(idx, limit - n, true, emit, io).await?;
            }
            if n < limit {
                self.pos = self.rows.total().unwrap_or(self.pos + n) + 1;
            } else {
                self.pos += n;
            }
        } else {
            if self.pos == 0 {
                return Ok(0);
            }
            // Rows pos-1, pos-2, ... (1-based): zero-based pos-2 down to 0.
            while n < limit && self.pos >= n + 2 {
                n += self
                    .send(self.pos - 2 - n, limit - n, false, emit, io)
                    .await?;
            }
            if n < limit {
                self.pos = 0;
            } else {
                self.pos -= n;
            }
        }
        Ok(n as u64)
    }

    /// Sends (or passes over) up to `max` rows of the batch holding row
    /// `idx`, going forward from it or backward; returns how many.
    async fn send<C>(
        &self,
        idx: usize,
        max: usize,
        forward: bool,
        emit: bool,
        io: &mut FetchIo<'_, C>,
    ) -> PgWireResult<usize>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let (b, off) = self.rows.locate(idx);
        let batch = &self.rows.batches[b];
        let take = if forward {
            (batch.rows - off).min(max)
        } else {
            (off + 1).min(max)
        };
        if emit {
            let width = self.columns.len();
            let mut vals = Vec::new();
            marshal::decode_rows(&batch.bytes, width, &mut vals)
                .map_err(|e| bridge_failure(&e.into()))?;
            for k in 0..take {
                let r = if forward { off + k } else { off - k };
                send_row(
                    io.client,
                    io.scratch,
                    &vals[r * width..(r + 1) * width],
                    &self.columns,
                    io.binary,
                )
                .await?;
            }
        }
        Ok(take)
    }
}

fn scan_forward_only() -> PgWireError {
    let mut info = ErrorInfo::new(
        "ERROR".into(),
        FEATURE_NOT_SUPPORTED.into(),
        "cursor can only scan forward".into(),
    );
    info.hint = Some("Declare it with SCROLL option to enable backward scan.".into());
    PgWireError::UserError(Box::new(info))
}

/// The session's open cursors, by name.
#[derive(Default)]
pub struct Cursors {
    open: BTreeMap<String, Cursor>,
}

impl Cursors {
    pub(crate) fn get(&self, name: &str) -> Option<&Cursor> {
        self.open.get(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.open.contains_key(name)
    }

    pub(crate) fn insert(&mut self, name: String, cursor: Cursor) {
        self.open.insert(name, cursor);
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Cursor> {
        self.open.remove(name)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.open.keys().cloned().collect()
    }

    /// Whether a cursor's statement still holds the worker.
    pub fn is_streaming(&self) -> bool {
        self.open.values().any(Cursor::is_streaming)
    }

    /// Frees the worker for another statement: the cursor whose rows it is
    /// still sending reads the rest into memory.
    pub async fn release_worker(&mut self, mut worker: Option<&mut Worker>) -> PgWireResult<()> {
        for c in self.open.values_mut().filter(|c| c.is_streaming()) {
            c.materialise(worker.as_deref_mut()).await?;
        }
        Ok(())
    }

    /// The transaction ends. On commit WITH HOLD cursors stay, their rows
    /// read into memory (the worker's statement ends with the transaction);
    /// on rollback only those held from an earlier commit stay. Every
    /// other cursor closes.
    pub(crate) async fn end_transaction(
        &mut self,
        commit: bool,
        mut worker: Option<&mut Worker>,
    ) -> PgWireResult<()> {
        let mut first_error = None;
        for name in self.names() {
            let Some(c) = self.open.get_mut(&name) else {
                continue;
            };
            if c.hold && (commit || !c.uncommitted) {
                c.uncommitted = false;
                if let Err(e) = c.materialise(worker.as_deref_mut()).await {
                    first_error.get_or_insert(e);
                }
            } else {
                if let Err(e) = c.discard(worker.as_deref_mut()).await {
                    first_error.get_or_insert(bridge_failure(&e));
                }
                self.open.remove(&name);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Whether `name` is a parked protocol portal.
    pub(crate) fn is_parked_portal(&self, name: &str) -> bool {
        self.open.get(name).is_some_and(Cursor::is_parked_portal)
    }

    /// Closes the parked protocol portals: Sync ended their transaction.
    pub(crate) async fn close_parked_portals(
        &mut self,
        mut worker: Option<&mut Worker>,
    ) -> Result<(), BridgeError> {
        let mut r = Ok(());
        for name in self.names() {
            if self.is_parked_portal(&name)
                && let Some(mut c) = self.open.remove(&name)
                && let Err(e) = c.discard(worker.as_deref_mut()).await
            {
                r = Err(e);
            }
        }
        r
    }

    /// Closes every cursor (`CLOSE ALL`, `DISCARD ALL`).
    pub(crate) async fn close_all(
        &mut self,
        mut worker: Option<&mut Worker>,
    ) -> Result<(), BridgeError> {
        let mut r = Ok(());
        for (_, mut c) in std::mem::take(&mut self.open) {
            if let Err(e) = c.discard(worker.as_deref_mut()).await {
                r = Err(e);
            }
        }
        r
    }
}
