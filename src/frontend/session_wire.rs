//! SET, SHOW and RESET answered by iriswire itself, on the wire (the
//! settings they act on are in [`super::session`]).

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientPortalStore, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::DataRow;
use pgwire::messages::response::NoticeResponse;
use pgwire::messages::startup::ParameterStatus;

use super::handler::{Handler, Statement, complete};
use super::transaction::{in_block, transaction_setting};
use crate::frontend::columns::{ResultColumn, row_description};
use crate::frontend::errors;
use crate::frontend::errors::error;
use crate::frontend::errors::{
    ACTIVE_SQL_TRANSACTION, FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE,
    NO_ACTIVE_SQL_TRANSACTION, UNDEFINED_OBJECT,
};
use crate::frontend::session::{Session, SessionCommand, reported_name};

pub(super) async fn send_notice<C>(client: &mut C, msg: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    // PostgreSQL's codes for the warnings iriswire gives itself.
    let code = if msg.starts_with("there is already") {
        ACTIVE_SQL_TRANSACTION
    } else {
        NO_ACTIVE_SQL_TRANSACTION
    };
    let info = ErrorInfo::new("WARNING".into(), code.into(), msg.into());
    client
        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
            info,
        )))
        .await?;
    Ok(())
}

/// Runs a SET/SHOW/RESET. `describe`: send RowDescription for SHOW (simple protocol).
pub(super) async fn run_local<C>(
    client: &mut C,
    s: &mut Session,
    cmd: &SessionCommand,
    describe: bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    match cmd {
        SessionCommand::Set { name, value, local } => {
            if name == "client_encoding"
                && !matches!(
                    value.to_ascii_uppercase().replace(['-', '_'], "").as_str(),
                    "UTF8" | "UNICODE"
                )
            {
                return Err(error(
                    FEATURE_NOT_SUPPORTED,
                    format!("iriswire supports only the UTF8 client encoding, not \"{value}\""),
                ));
            }
            let value = &Session::check_setting(name, value)
                .map_err(|m| error(INVALID_PARAMETER_VALUE, m))?;
            if *local && !in_block(s) {
                // PostgreSQL: a warning, and the setting does not change.
                send_notice(client, "SET LOCAL can only be used in transaction blocks").await?;
                return complete(client, "SET").await;
            }
            s.set(name, value.clone(), *local);
            if let Some(reported) = reported_name(name) {
                client
                    .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                        reported.to_owned(),
                        value.clone(),
                    )))
                    .await?;
            }
            complete(client, "SET").await
        }
        SessionCommand::SetIgnored => complete(client, "SET").await,
        SessionCommand::Reset { name } => {
            s.reset(name.as_deref());
            complete(client, "RESET").await
        }
        SessionCommand::Show { name } => {
            let key = match name.as_str() {
                "transactionisolationlevel" => "transaction_isolation",
                other => other,
            };
            let value = transaction_setting(s, key)
                .or_else(|| s.settings.get(key).cloned())
                .ok_or_else(|| {
                    error(
                        UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })?;
            if describe {
                let cols = [ResultColumn {
                    name: key.to_owned(),
                    ty: Type::TEXT,
                    scale: None,
                }];
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(
                        &cols,
                        &[],
                    )))
                    .await?;
            }
            let mut data = bytes::BytesMut::new();
            crate::pgtypes::encode_field(
                &mut data,
                &crate::bridge::marshal::Value::Str(&value),
                &Type::TEXT,
                None,
                false,
            )
            .map_err(|e| errors::value_error(&e))?;
            client
                .feed(PgWireBackendMessage::DataRow(DataRow::new(data, 1)))
                .await?;
            complete(client, "SHOW").await
        }
    }
}

impl Handler {
    /// `DISCARD`: prepared statements and cursors live in iriswire, so it
    /// is answered here (`DISCARD ALL` is PgBouncer's reset query;
    /// `DEALLOCATE` is session SQL, in `prepared_sql`).
    pub(super) fn session_reset<C>(&self, client: &C, s: &mut Session, sql: &str) -> Option<String>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        let words = crate::translate::lexer::leading_keywords(sql, 3);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        // The simple-query trait does not name the statement type; the store is ours.
        let store = client
            .portal_store()
            .as_any()
            .downcast_ref::<pgwire::api::store::MemPortalStore<Statement>>()?;
        match words.as_slice() {
            // Inside a block the planner refuses it, as PostgreSQL does.
            ["DISCARD", "ALL", ..] if !in_block(s) => {
                clear_named_statements(store, s);
                store.clear_portals();
                // Outside a block every cursor left is a held one, in memory.
                s.cursors = Default::default();
                s.reset(None);
                discard_backend_state(s);
                Some("DISCARD ALL".into())
            }
            ["DISCARD", what @ ("TEMP" | "TEMPORARY"), ..] if !in_block(s) => {
                discard_backend_state(s);
                Some(format!("DISCARD {what}"))
            }
            ["DISCARD", what, ..] if *what != "ALL" => Some(format!("DISCARD {what}")),
            _ => None,
        }
    }
}

/// Gives the session's worker back to the pool marked for a reset, which
/// drops its temporary tables before anyone uses it again; the session's
/// next statement takes a clean worker.
fn discard_backend_state(s: &mut Session) {
    if let Some(w) = s.worker.as_mut() {
        w.needs_reset = true;
    }
    s.release_worker();
}

/// Drops every named prepared statement of the session.
pub(super) fn clear_named_statements<P: PortalStore<Statement = Statement>>(
    store: &P,
    s: &mut Session,
) {
    for name in std::mem::take(&mut s.statement_names) {
        store.rm_statement(&name);
    }
}
