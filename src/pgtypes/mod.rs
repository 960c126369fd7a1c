//! PostgreSQL's types, on their own: which PostgreSQL type a backend column
//! or value is, and how values cross the wire in PostgreSQL's text and
//! binary formats, both ways.
//!
//! This is the bottom layer: it knows the bridge's [`Value`] and pgwire's
//! [`Type`], and nothing about sessions, pools or connections. Callers pass
//! plain values in and get bytes (or bridge values) out, written into
//! buffers they own so a result set's rows reuse one allocation.
//!
//! - [`mapping`]: backend type names, ODBC codes and values → PostgreSQL
//!   types (OIDs, sizes, names), including pgvector's `vector`.
//! - `encode_field` (here): one DataRow field in the format the client asked
//!   for, written by `text` or `binary` (by `vector` for pgvector's type).
//! - `params`: client parameters (text or binary) → bridge values.
//! - `input`: PostgreSQL's input syntax for booleans, floats and hex.
//! - `datetime`: the calendar arithmetic dates and timestamps need.
//! - `vector`: pgvector's own text and binary forms.

pub mod mapping;

pub(crate) mod binary;
pub(crate) mod datetime;
pub(crate) mod input;
pub(crate) mod params;
pub(crate) mod text;
pub(crate) mod vector;

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;

use crate::bridge::marshal::Value;

pub(crate) use input::invalid_utf8;
pub(crate) use params::write_param;

/// A value that cannot be represented as the column's PostgreSQL type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub sqlstate: &'static str,
    pub message: String,
}

/// PostgreSQL's 22P02: `text` is not a valid `ty`.
fn invalid(ty: &str, text: &str) -> ValueError {
    ValueError {
        sqlstate: "22P02",
        message: format!("invalid input syntax for type {ty}: \"{text}\""),
    }
}

/// PostgreSQL's 22003: a number too large for `ty`.
fn out_of_range(ty: &str) -> ValueError {
    ValueError {
        sqlstate: "22003",
        message: format!("value out of range for type {ty}"),
    }
}

/// Appends one DataRow field (length word + bytes) for `v` as type `ty`.
/// `scale` is a `numeric` column's declared scale: values are written with
/// exactly that many decimals, as PostgreSQL stores them.
pub(crate) fn encode_field(
    buf: &mut BytesMut,
    v: &Value<'_>,
    ty: &Type,
    scale: Option<u16>,
    binary: bool,
) -> Result<(), ValueError> {
    if let Value::Null = v {
        buf.put_i32(-1);
        return Ok(());
    }
    let len_at = buf.len();
    buf.put_i32(0);
    if mapping::is_vector(ty) {
        let text = text::as_text(v);
        if binary {
            vector::put_vector_binary(buf, &text).ok_or_else(|| invalid("vector", &text))?;
        } else {
            vector::put_vector_text(buf, &text);
        }
        let len = (buf.len() - len_at - 4) as i32;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        return Ok(());
    }
    match (scale, *ty == Type::NUMERIC, binary) {
        (Some(scale), true, false) => text::put_numeric_scaled(buf, v, scale),
        (Some(scale), true, true) => {
            let mut tmp = BytesMut::new();
            text::put_numeric_scaled(&mut tmp, v, scale);
            let s = std::str::from_utf8(&tmp).unwrap_or("");
            binary::put_numeric_binary(buf, s).ok_or_else(|| invalid("numeric", s))?;
        }
        (_, _, true) => binary::encode_binary(buf, v, ty)?,
        (_, _, false) => text::encode_text(buf, v, ty),
    }
    let len = (buf.len() - len_at - 4) as i32;
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_columns_keep_their_declared_scale() {
        let field = |v: Value<'_>| {
            let mut b = BytesMut::new();
            encode_field(&mut b, &v, &Type::NUMERIC, Some(2), false).unwrap();
            String::from_utf8(b[4..].to_vec()).unwrap()
        };
        assert_eq!(field(Value::Float(3.1)), "3.10");
        assert_eq!(field(Value::Float(2.5500000000000003)), "2.55");
        assert_eq!(field(Value::Int(5)), "5.00");
        assert_eq!(field(Value::Float(-0.5)), "-0.50");
        assert_eq!(field(Value::Str("1.5")), "1.50");
    }
}
