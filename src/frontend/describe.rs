//! Describe: ParameterDescription and RowDescription (or NoData) for a
//! prepared statement or a portal.

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Describe, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};

use super::cursor_wire::cursor_description;
use super::handler::{Handler, Statement};
use crate::frontend::columns::row_description;
use crate::frontend::errors::error;
use crate::frontend::errors::{INVALID_CURSOR_NAME, INVALID_SQL_STATEMENT_NAME};

impl Handler {
    pub(super) async fn describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (stmt, binary): (Option<Statement>, Vec<bool>) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(st)) => {
                    let types = st.statement.param_types.iter().map(|t| t.oid()).collect();
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(types),
                        ))
                        .await?;
                    (Some(st.statement.clone()), vec![])
                }
                Some(Entry::Empty) => {
                    client
                        .feed(PgWireBackendMessage::ParameterDescription(
                            ParameterDescription::new(vec![]),
                        ))
                        .await?;
                    (None, vec![])
                }
                None => {
                    return Err(error(
                        INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                }
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(p)) => {
                    let n = p
                        .statement
                        .statement
                        .columns
                        .as_ref()
                        .map(|c| c.len())
                        .unwrap_or(0);
                    let b = (0..n)
                        .map(|i| p.result_column_format.is_binary(i))
                        .collect();
                    (Some(p.statement.statement.clone()), b)
                }
                Some(Entry::Empty) => (None, vec![]),
                None => {
                    // A cursor DECLAREd in SQL is a portal too.
                    let Some(rd) = cursor_description(client, name) else {
                        return Err(error(
                            INVALID_CURSOR_NAME,
                            format!("portal \"{name}\" does not exist"),
                        ));
                    };
                    client
                        .feed(PgWireBackendMessage::RowDescription(rd))
                        .await?;
                    return Ok(());
                }
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        match stmt.as_ref().and_then(|s| s.columns.clone()) {
            Some(cols) if !cols.is_empty() => {
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(
                        &cols, &binary,
                    )))
                    .await?;
            }
            _ => {
                client
                    .feed(PgWireBackendMessage::NoData(NoData::new()))
                    .await?
            }
        }
        Ok(())
    }
}
