//! The admin console's replies on the wire: a result table as
//! RowDescription and text DataRows, a command tag with warnings as
//! notices, an error as ErrorResponse.

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::api::{ClientInfo, METADATA_USER, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::DataRow;
use pgwire::messages::response::{CommandComplete, NoticeResponse};

use crate::audit::{Audit, AuditEvent};
use crate::frontend::columns::{ResultColumn, row_description};
use crate::frontend::errors::{WARNING, value_error};
use crate::state::Shared;
use crate::translate::lexer::split_statements;

/// A simple Query on the admin console: one command per statement, each
/// audited with the user who ran it.
pub(crate) async fn respond<C>(shared: &Shared, client: &mut C, query: &str) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let user = client.metadata().get(METADATA_USER).cloned();
    let peer = client.socket_addr();
    for sql in split_statements(query) {
        let result = super::run(shared, sql).await;
        let mut audit = Audit::new(AuditEvent::AdminCommand);
        audit.user = user.as_deref();
        audit.peer = Some(peer);
        audit.command = Some(sql.trim());
        audit.outcome = Some(if result.is_ok() { "ok" } else { "error" });
        audit.reason = result.as_ref().err().map(|e| e.message.as_str());
        audit.record();
        match result {
            Ok(super::Reply::Table(table)) => {
                let cols: Vec<ResultColumn> = table
                    .columns
                    .iter()
                    .map(|(name, ty)| ResultColumn {
                        name: (*name).to_owned(),
                        ty: ty.clone(),
                        scale: None,
                    })
                    .collect();
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(
                        &cols,
                        &[],
                    )))
                    .await?;
                let n = table.rows.len();
                for row in table.rows {
                    let mut data = bytes::BytesMut::new();
                    for v in &row {
                        let value = match v {
                            Some(v) => crate::bridge::marshal::Value::Str(v),
                            None => crate::bridge::marshal::Value::Null,
                        };
                        crate::pgtypes::encode_field(&mut data, &value, &Type::TEXT, None, false)
                            .map_err(|e| value_error(&e))?;
                    }
                    client
                        .feed(PgWireBackendMessage::DataRow(DataRow::new(
                            data,
                            row.len() as i16,
                        )))
                        .await?;
                }
                complete(client, &format!("SHOW {n}")).await?;
            }
            Ok(super::Reply::Done { tag, notices }) => {
                for n in notices {
                    let info = ErrorInfo::new("WARNING".into(), WARNING.into(), n);
                    client
                        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                            info,
                        )))
                        .await?;
                }
                complete(client, &tag).await?;
            }
            Err(e) => {
                client
                    .feed(PgWireBackendMessage::ErrorResponse(
                        ErrorInfo::new("ERROR".into(), e.sqlstate.into(), e.message).into(),
                    ))
                    .await?;
                break;
            }
        }
    }
    Ok(())
}

async fn complete<C>(client: &mut C, tag: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    client
        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
            tag.to_owned(),
        )))
        .await?;
    Ok(())
}
