//! Running one statement on a session's bridge worker and streaming its
//! result to the client, shared by the simple and extended protocols.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::{Sink, SinkExt};
use pgwire::api::Type;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::response::CommandComplete;

use crate::bridge::marshal::{self, Value, Writer};
use crate::bridge::protocol::{self, ColumnMeta};
use crate::bridge::{BackendError, BridgeError, Frame, Worker};
use crate::config::PoolMode;
use crate::frontend::session::{ActivePortal, Session};
use crate::pgtypes::mapping::{self as types, ColumnType};
use crate::pgtypes::{self, ValueError};
use crate::pool::AcquireError;
use crate::state::clients::{Client, InterruptReason};
use crate::state::{Shared, TableColumns};
use crate::telemetry::Metrics;
use crate::translate::{StatementKind, Translation, TypeExpr};

/// One result column as sent in RowDescription.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: Type,
    /// Declared numeric scale: values are printed with exactly this many decimals.
    pub scale: Option<u16>,
}

pub fn error(sqlstate: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        sqlstate.into(),
        message.into(),
    )))
}

pub fn fatal(sqlstate: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        sqlstate.into(),
        message.into(),
    )))
}

pub fn backend_error(e: &BackendError) -> PgWireError {
    let mut info = ErrorInfo::new("ERROR".into(), e.sqlstate.clone(), e.message.clone());
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    PgWireError::UserError(Box::new(info))
}

/// Adds PostgreSQL's error cursor to a syntax error: the 1-based character
/// position, in the client's whole query string, of the token the message
/// names (`syntax error at or near "X"`). `stmt` is a slice of `query`.
pub fn with_syntax_position(e: PgWireError, query: &str, stmt: &str) -> PgWireError {
    let PgWireError::UserError(mut info) = e else {
        return e;
    };
    if info.code == "42601" && info.position.is_none() {
        let base = (stmt.as_ptr() as usize)
            .checked_sub(query.as_ptr() as usize)
            .filter(|b| *b + stmt.len() <= query.len())
            .unwrap_or(0);
        let at = match info.message.strip_prefix("syntax error at or near \"") {
            Some(rest) => rest.strip_suffix('"').and_then(|token| stmt.find(token)),
            None if info.message == "syntax error at end of input" => Some(stmt.len()),
            None => None,
        };
        if let Some(at) = at {
            let chars = query[..base + at].chars().count() + 1;
            info.position = Some(chars.to_string());
        }
    }
    PgWireError::UserError(info)
}

pub fn value_error(e: &ValueError) -> PgWireError {
    error(e.sqlstate, e.message.clone())
}

/// A worker failure mid-statement: the client gets a clear error and the
/// worker is dropped (and killed) instead of going back to the pool.
pub fn bridge_failure(e: &BridgeError) -> PgWireError {
    match e {
        BridgeError::Backend(b) => backend_error(b),
        BridgeError::Exited => error(
            "08006",
            "the bridge worker serving this session exited during the statement",
        ),
        other => error("XX000", format!("bridge worker failed: {other}")),
    }
}

pub fn acquire_failure(e: &AcquireError) -> PgWireError {
    match e {
        // The backend's own words (e.g. a namespace that does not exist).
        AcquireError::Start { source, .. } if matches!(**source, BridgeError::Backend(_)) => {
            bridge_failure(source)
        }
        _ => error(e.sqlstate(), e.to_string()),
    }
}

/// Resolves result columns, first rule that decides wins: the literal or
/// cast that produced the column; the backend's declared type; PostgreSQL's
/// rules over catalog types (`inferred`, e.g. `sum(qty)`); the first row's
/// value; `text`.
pub fn resolve_columns(
    t: &Translation,
    metas: &[ColumnMeta],
    inferred: &[Option<ColumnType>],
    first_row: Option<&[Value<'_>]>,
) -> Vec<ResultColumn> {
    metas
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let typed = t
                .analysis()
                .column_types
                .get(i)
                .cloned()
                .flatten()
                .map(ColumnType::of)
                .or_else(|| ColumnType::from_declared(&m.type_name))
                .or_else(|| {
                    let ty = types::from_odbc(m.type_code, m.precision, m.scale)?;
                    let scale = (ty == Type::NUMERIC).then_some(m.scale as u16);
                    (m.type_code != 0).then_some(ColumnType { ty, scale })
                })
                .or_else(|| inferred.get(i).cloned().flatten())
                .or_else(|| {
                    first_row
                        .and_then(|r| r.get(i))
                        .and_then(types::from_value)
                        .map(ColumnType::of)
                })
                .unwrap_or(ColumnType::of(Type::TEXT));
            let name = t.column_name(i).unwrap_or(&m.name).to_owned();
            ResultColumn {
                name,
                ty: typed.ty,
                scale: typed.scale,
            }
        })
        .collect()
}

/// Columns PostgreSQL would describe for a statement the backend cannot
/// describe before running it (SQLite `RETURNING`), from the statement text
/// and the catalog. `None` when the text does not say (a wildcard).
pub fn columns_from_text(
    t: &Translation,
    inferred: &[Option<ColumnType>],
) -> Option<Vec<ResultColumn>> {
    if t.analysis().column_exprs.is_empty() {
        return None;
    }
    Some(
        t.analysis()
            .column_exprs
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let typed = inferred
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or(ColumnType::of(Type::TEXT));
                let name = match (t.column_name(i), e) {
                    (Some(n), _) => n,
                    (None, TypeExpr::Column { column, .. }) => column,
                    (None, _) => "?column?",
                }
                .to_owned();
                ResultColumn {
                    name,
                    ty: typed.ty,
                    scale: typed.scale,
                }
            })
            .collect(),
    )
}

/// Settles the catalog-dependent column types of `t` (see [`TypeExpr`]),
/// looking up the statement's tables through the session's worker.
/// `params` types `$n` (empty: parameters stay unknown).
pub async fn infer_columns(
    shared: &Shared,
    s: &mut Session,
    t: &Translation,
    params: &[Option<Type>],
) -> PgWireResult<Vec<Option<ColumnType>>> {
    let mut tables = Vec::new();
    if t.analysis()
        .column_exprs
        .iter()
        .any(TypeExpr::mentions_column)
    {
        for name in &t.analysis().tables {
            tables.push((name.clone(), table_columns(shared, s, name).await?));
        }
    }
    let lookup = |leaf: &TypeExpr| -> Option<ColumnType> {
        let (table, column) = match leaf {
            TypeExpr::Param(p) => return params.get(*p).cloned().flatten().map(ColumnType::of),
            TypeExpr::Column { table, column } => (table.as_deref(), column.as_str()),
            _ => return None,
        };
        tables
            .iter()
            .filter(|(name, _)| table.is_none_or(|want| want == name))
            .find_map(|(_, cols)| {
                cols.iter()
                    .find(|(c, _)| c == column)
                    .map(|(_, ty)| ty.clone())
            })
    };
    Ok(t.analysis()
        .column_exprs
        .iter()
        .map(|e| e.resolve(&lookup))
        .collect())
}

pub fn row_description(cols: &[ResultColumn], binary: &[bool]) -> RowDescription {
    RowDescription::new(
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                FieldDescription::new(
                    c.name.clone(),
                    0,
                    0,
                    c.ty.oid(),
                    types::type_size(&c.ty),
                    -1,
                    if binary.get(i).copied().unwrap_or(false) {
                        1
                    } else {
                        0
                    },
                )
            })
            .collect(),
    )
}

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
    Complete { rows: usize, rowcount: i64 },
    Suspended,
    Failed(PgWireError),
}

/// Streams a running statement's result to the client.
///
/// `columns` is `Some` when the client already has the RowDescription
/// (extended protocol); otherwise it is built from the `D` frame and the
/// first batch and sent before the first row; the backend's declared
/// types come from `known` (a cached description) or, when that is `None`,
/// from the `D` frame, which is then handed back in `parsed` for caching.
/// Stops after `max_rows` rows (0: no limit), keeping the cut batch in `portal`.
#[allow(clippy::too_many_arguments)]
pub async fn stream_result<C>(
    client: &mut C,
    worker: &mut Worker,
    session_scratch: &mut BytesMut,
    t: &Translation,
    mut columns: Option<Arc<Vec<ResultColumn>>>,
    binary: &[bool],
    max_rows: usize,
    portal: &mut Option<ActivePortal>,
    known: Option<&[ColumnMeta]>,
    inferred: &[Option<ColumnType>],
    parsed: &mut Option<Vec<ColumnMeta>>,
) -> PgWireResult<StreamEnd>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let mut sent_in_call = 0usize;
    let mut total = portal.as_ref().map(|p| p.rows_sent).unwrap_or(0);

    // Rows of a batch cut short by a previous Execute come first.
    if let Some(p) = portal.as_mut()
        && let Some((bytes, skip)) = p.pending.take()
    {
        let cols = columns.clone().unwrap_or_default();
        let width = cols.len();
        let mut vals = Vec::new();
        let n = marshal::decode_rows(&bytes, width, &mut vals)
            .map_err(|e| bridge_failure(&e.into()))?;
        let mut i = skip;
        while i < n {
            if max_rows != 0 && sent_in_call == max_rows {
                p.pending = Some((bytes.clone(), i));
                p.rows_sent = total;
                client
                    .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                    .await?;
                return Ok(StreamEnd::Suspended);
            }
            send_row(
                client,
                session_scratch,
                &vals[i * width..(i + 1) * width],
                &cols,
                binary,
            )
            .await?;
            sent_in_call += 1;
            total += 1;
            i += 1;
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
                        protocol::parse_columns(&mut r).map_err(|e| bridge_failure(&e.into()))?,
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
                            "XX000",
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
                for i in 0..n {
                    if max_rows != 0 && sent_in_call == max_rows {
                        *portal = Some(ActivePortal {
                            name: portal.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                            pending: Some((payload.to_vec(), i)),
                            rows_sent: total,
                        });
                        client
                            .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                            .await?;
                        return Ok(StreamEnd::Suspended);
                    }
                    send_row(
                        client,
                        session_scratch,
                        &values[i * width..(i + 1) * width],
                        &cols,
                        binary,
                    )
                    .await?;
                    sent_in_call += 1;
                    total += 1;
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
                let tag = command_tag(t, total, rowcount);
                client
                    .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
                *portal = None;
                return Ok(StreamEnd::Complete {
                    rows: total,
                    rowcount,
                });
            }
            Frame::Error(e) => {
                *portal = None;
                return Ok(StreamEnd::Failed(backend_error(&e)));
            }
        }
    }
}

async fn send_row<C>(
    client: &mut C,
    scratch: &mut BytesMut,
    row: &[Value<'_>],
    cols: &[ResultColumn],
    binary: &[bool],
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    for (i, v) in row.iter().enumerate() {
        let (ty, scale) = cols
            .get(i)
            .map(|c| (&c.ty, c.scale))
            .unwrap_or((&Type::TEXT, None));
        let bin = binary.get(i).copied().unwrap_or(false);
        pgtypes::encode_field(scratch, v, ty, scale, bin).map_err(|e| value_error(&e))?;
    }
    let data = scratch.split();
    client
        .feed(PgWireBackendMessage::DataRow(DataRow::new(
            data,
            row.len() as i16,
        )))
        .await?;
    Ok(())
}

/// Ensures the session holds a worker, checking one out of its pool.
pub async fn ensure_worker(shared: &Shared, s: &mut Session) -> PgWireResult<()> {
    if s.worker.is_none() {
        if let Some(c) = &s.client {
            c.set_state(crate::state::clients::ClientState::Waiting);
        }
        let started = std::time::Instant::now();
        let got = shared.pools.acquire(&s.database, &s.user).await;
        if let Some(st) = &s.stats {
            st.waited(started.elapsed());
        }
        if let Some(c) = &s.client {
            c.set_state(crate::state::clients::ClientState::Active);
        }
        let w = got.map_err(|e| acquire_failure(&e))?;
        if let Some(c) = &s.client {
            c.worker_pid
                .store(w.pid(), std::sync::atomic::Ordering::Relaxed);
        }
        s.worker = Some(w);
    }
    Ok(())
}

/// In transaction pooling, hands the worker back once no transaction is open.
pub fn release_if_idle(shared: &Shared, s: &mut Session) {
    if shared.config().pool_mode == PoolMode::Transaction
        && s.active.is_none()
        && s.worker
            .as_ref()
            .is_some_and(|w| !w.in_transaction && !w.is_busy())
    {
        s.release_worker();
    }
}

/// Looks up (and caches) a table's column types, for parameter inference.
pub async fn table_columns(
    shared: &Shared,
    s: &mut Session,
    table: &str,
) -> PgWireResult<TableColumns> {
    let key = (s.database.clone(), table.to_owned());
    if let Some(c) = shared
        .table_columns
        .lock()
        .expect("catalog cache")
        .get(&key)
    {
        return Ok(c.clone());
    }
    ensure_worker(shared, s).await?;
    let worker = s.worker.as_mut().expect("worker");
    // pg_catalog tables live in the bridge's catalog emulation, which is
    // SQLite whatever the backend; the marker in the comment routes it there.
    let catalog_table = table
        .strip_prefix("pg_catalog.")
        .unwrap_or(table)
        .starts_with("pg_");
    let table = if catalog_table {
        table.strip_prefix("pg_catalog.").unwrap_or(table)
    } else {
        table
    };
    let sql = match shared.translations.dialect() {
        _ if catalog_table => "SELECT name, type FROM pragma_table_info(?) -- pg_catalog.",
        crate::translate::Dialect::Sqlite => "SELECT name, type FROM pragma_table_info(?)",
        // IRIS's own INFORMATION_SCHEMA, quoted: PostgreSQL's information_schema
        // (lower case, unquoted) is the bridge's catalog emulation.
        crate::translate::Dialect::Iris => {
            "SELECT COLUMN_NAME, DATA_TYPE FROM \"INFORMATION_SCHEMA\".COLUMNS WHERE TABLE_SCHEMA = ? AND LOWER(TABLE_NAME) = LOWER(?)"
        }
    };
    let schema = &shared.config().iris.schema.clone();
    let dialect = shared.translations.dialect();
    worker
        .start_query(sql, false, |w| {
            if dialect == crate::translate::Dialect::Iris && !catalog_table {
                w.tuple_header(2);
                w.str(schema);
            } else {
                w.tuple_header(1);
            }
            w.str(table);
            Ok::<(), ()>(())
        })
        .await
        .map_err(|e| bridge_failure(&e))?
        .ok();
    let mut cols = Vec::new();
    loop {
        match worker.next_frame().await.map_err(|e| bridge_failure(&e))? {
            Frame::Batch(p) => {
                let mut vals = Vec::new();
                let n =
                    marshal::decode_rows(p, 2, &mut vals).map_err(|e| bridge_failure(&e.into()))?;
                for i in 0..n {
                    if let (Value::Str(name), Value::Str(decl)) = (vals[2 * i], vals[2 * i + 1]) {
                        cols.push((
                            name.to_lowercase(),
                            ColumnType::from_declared(decl).unwrap_or(ColumnType::of(Type::TEXT)),
                        ));
                    }
                }
            }
            Frame::Description(_) => {}
            Frame::Complete { .. } | Frame::Error(_) => break,
        }
    }
    let cols = Arc::new(cols);
    shared
        .table_columns
        .lock()
        .expect("catalog cache")
        .insert(key, cols.clone());
    Ok(cols)
}

/// Runs `work`, a statement running on the worker `worker_pid`, under the
/// session's statement timeout and the connection's cancel requests.
///
/// `work` is never dropped half-way (its reads of the worker's pipe are not
/// cancel-safe): an interrupt signals the worker and keeps polling `work`.
/// The worker gets SIGINT, which its cancel thread turns into the driver's
/// interrupt; if it has not answered within `grace`, it gets SIGKILL, so
/// `work` ends with the worker gone and the pool replaces it, without
/// touching other sessions. Returns why the statement was interrupted, if
/// it was.
pub async fn supervised<T>(
    client: Option<&Arc<Client>>,
    worker_pid: u32,
    timeout: Duration,
    grace: Duration,
    work: impl std::future::Future<Output = T>,
) -> (T, InterruptReason) {
    let Some(client) = client else {
        return (work.await, InterruptReason::None);
    };
    let notified = client.interrupt.notified();
    tokio::pin!(notified);
    // Registered before the statement is marked running: a cancel that
    // sees it running always wakes this task.
    notified.as_mut().enable();
    let _running = client.start_statement();
    tokio::pin!(work);
    let deadline = async {
        if timeout.is_zero() {
            std::future::pending::<()>().await
        } else {
            tokio::time::sleep(timeout).await
        }
    };
    tokio::select! {
        out = &mut work => return (out, client.interrupt_reason()),
        _ = &mut notified => {}
        _ = deadline => {
            client.request_interrupt(InterruptReason::StatementTimeout);
        }
    }
    signal_worker(worker_pid, libc::SIGINT);
    tokio::select! {
        out = &mut work => return (out, client.interrupt_reason()),
        _ = tokio::time::sleep(grace) => {}
    }
    tracing::warn!(
        worker_pid,
        reason = ?client.interrupt_reason(),
        "bridge worker did not stop its statement in time; killing it"
    );
    Metrics::install().worker_exits_timeout.increment(1);
    crate::bridge::worker::mark_killed(worker_pid);
    signal_worker(worker_pid, libc::SIGKILL);
    (work.await, client.interrupt_reason())
}

fn signal_worker(pid: u32, signal: libc::c_int) {
    if pid > 1 {
        // SAFETY: kill(2) on our own child. The worker object is borrowed by
        // the running statement, so the child cannot have been reaped and
        // its pid reused.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}

/// A statement that failed because it was interrupted reports why, as
/// PostgreSQL does (57014), whatever the worker said.
pub fn interrupted(end: StreamEnd, reason: InterruptReason) -> StreamEnd {
    match (end, reason) {
        (end, InterruptReason::None) => end,
        (StreamEnd::Failed(_), reason) => {
            if reason == InterruptReason::StatementTimeout {
                Metrics::install().statement_timeouts.increment(1);
            }
            StreamEnd::Failed(error("57014", reason.message()))
        }
        (end, _) => end,
    }
}
