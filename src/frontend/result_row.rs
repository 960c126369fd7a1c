//! A result's columns as RowDescription names them, and its rows as
//! DataRows: the encoding every result shares (a statement's, a cursor's).
//! Working the columns out is the job of `columns`.

use std::fmt::Debug;

use bytes::BytesMut;
use futures::{Sink, SinkExt};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};

use crate::bridge::marshal::Value;
use crate::frontend::errors::value_error;
use crate::pgtypes;
use crate::pgtypes::mapping as types;

/// One result column as sent in RowDescription.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: Type,
    /// Declared numeric scale: values are printed with exactly this many decimals.
    pub scale: Option<u16>,
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

/// Encodes one row in the columns' types and formats and feeds it as a DataRow.
pub(crate) async fn send_row<C>(
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
