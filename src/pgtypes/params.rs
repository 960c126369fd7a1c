//! Client parameters → bridge values: a Bind message's bytes, in text or
//! binary format per parameter, checked against the parameter's type and
//! written as the value the backend binds.

use super::input::invalid_utf8;
use bytes::BytesMut;
use pgwire::api::Type;

use super::datetime::{PG_EPOCH_DAYS, civil_from_days, format_timestamp};
use super::input::{decode_hex, parse_bool, parse_float};
use super::vector::{put_vector_text, vector_binary_to_text, vector_elements};
use super::{ValueError, invalid, mapping};
use crate::bridge::marshal::Writer;

/// Writes one client parameter, already decoded per its type and format, as
/// a bridge value.
pub(crate) fn write_param(
    w: &mut Writer<'_>,
    raw: Option<&[u8]>,
    ty: &Type,
    binary: bool,
) -> Result<(), ValueError> {
    let Some(raw) = raw else {
        w.none();
        return Ok(());
    };
    if binary {
        return write_binary_param(w, raw, ty);
    }
    if let Some(message) = invalid_utf8(raw) {
        return Err(ValueError {
            sqlstate: "22021",
            message,
        });
    }
    let text = std::str::from_utf8(raw).expect("checked above");
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            let name = match *ty {
                Type::INT2 => "smallint",
                Type::INT8 => "bigint",
                _ => "integer",
            };
            w.int(text.trim().parse().map_err(|_| invalid(name, text))?)
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            w.float(parse_float(text).ok_or_else(|| invalid("double precision", text))?)
        }
        Type::BOOL => w.bool(parse_bool(text).ok_or_else(|| invalid("boolean", text))?),
        Type::BYTEA => match text.strip_prefix("\\x") {
            Some(hex) => w.bytes(&decode_hex(hex).ok_or_else(|| invalid("bytea", text))?),
            None => w.bytes(raw),
        },
        // A vector is stored in pgvector's own spelling, as PostgreSQL
        // stores the parsed value; text it cannot read goes on unchanged
        // for the backend's 22P02.
        _ if mapping::is_vector(ty) => {
            let mut canonical = BytesMut::with_capacity(text.len());
            match vector_elements(text) {
                Some(_) => {
                    put_vector_text(&mut canonical, text);
                    w.str(std::str::from_utf8(&canonical).unwrap_or(text));
                }
                None => w.str(text),
            }
        }
        _ => w.str(text),
    }
    Ok(())
}

fn write_binary_param(w: &mut Writer<'_>, raw: &[u8], ty: &Type) -> Result<(), ValueError> {
    if mapping::is_vector(ty) {
        let text = vector_binary_to_text(raw).ok_or_else(|| ValueError {
            sqlstate: "22P03",
            message: "incorrect binary data format in bind parameter of type vector".into(),
        })?;
        w.str(&text);
        return Ok(());
    }
    let bad = || ValueError {
        sqlstate: "22P03",
        message: format!(
            "incorrect binary data format in bind parameter of type {}",
            ty.name()
        ),
    };
    let fixed = |n: usize| -> Result<&[u8], ValueError> {
        if raw.len() == n { Ok(raw) } else { Err(bad()) }
    };
    match *ty {
        Type::BOOL => w.bool(fixed(1)?[0] != 0),
        Type::INT2 => w.int(i16::from_be_bytes(fixed(2)?.try_into().unwrap()) as i64),
        Type::INT4 => w.int(i32::from_be_bytes(fixed(4)?.try_into().unwrap()) as i64),
        Type::OID => w.int(u32::from_be_bytes(fixed(4)?.try_into().unwrap()) as i64),
        Type::INT8 => w.int(i64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::FLOAT4 => w.float(f32::from_be_bytes(fixed(4)?.try_into().unwrap()) as f64),
        Type::FLOAT8 => w.float(f64::from_be_bytes(fixed(8)?.try_into().unwrap())),
        Type::BYTEA => w.bytes(raw),
        Type::DATE => {
            let days = i32::from_be_bytes(fixed(4)?.try_into().unwrap()) as i64;
            let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
            w.str(&format!("{y:04}-{m:02}-{d:02}"));
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let us = i64::from_be_bytes(fixed(8)?.try_into().unwrap());
            w.str(&format_timestamp(us, *ty == Type::TIMESTAMPTZ));
        }
        Type::UUID => {
            let b = fixed(16)?;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            w.str(&format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ));
        }
        Type::NUMERIC => w.str(&numeric_binary_to_text(raw).ok_or_else(bad)?),
        Type::JSONB => {
            w.str(std::str::from_utf8(raw.get(1..).ok_or_else(bad)?).map_err(|_| bad())?)
        }
        _ => {
            if let Some(message) = invalid_utf8(raw) {
                return Err(ValueError {
                    sqlstate: "22021",
                    message,
                });
            }
            w.str(std::str::from_utf8(raw).map_err(|_| bad())?)
        }
    }
    Ok(())
}

/// A binary `numeric` parameter (base-10000 digit groups) as decimal text.
fn numeric_binary_to_text(raw: &[u8]) -> Option<String> {
    let word =
        |i: usize| -> Option<i16> { Some(i16::from_be_bytes(raw.get(i..i + 2)?.try_into().ok()?)) };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i32;
    let sign = word(4)? as u16;
    let dscale = word(6)? as usize;
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let digits: Vec<i16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for g in 0..=weight {
            let d = digits.get(g as usize).copied().unwrap_or(0);
            if g == 0 {
                s.push_str(&d.to_string());
            } else {
                s.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut g = weight + 1;
        while frac.len() < dscale {
            let d = if g < 0 {
                0
            } else {
                digits.get(g as usize).copied().unwrap_or(0)
            };
            frac.push_str(&format!("{d:04}"));
            g += 1;
        }
        frac.truncate(dscale);
        s.push_str(&frac);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtypes::binary::put_numeric_binary;

    #[test]
    fn numeric_binary_round_trips() {
        for s in ["0", "1", "-12.3400", "10000", "123456789.000001", "0.0005"] {
            let mut b = BytesMut::new();
            put_numeric_binary(&mut b, s).unwrap();
            assert_eq!(
                numeric_binary_to_text(&b).unwrap(),
                s.trim_start_matches('+'),
                "{s}"
            );
        }
    }

    #[test]
    fn text_params_are_typed_and_checked() {
        let mut buf = Vec::new();
        let mut w = Writer { buf: &mut buf };
        assert!(write_param(&mut w, Some(b"42"), &Type::INT4, false).is_ok());
        let err = write_param(&mut w, Some(b"abc"), &Type::INT4, false).unwrap_err();
        assert_eq!(err.sqlstate, "22P02");
        assert_eq!(
            err.message,
            "invalid input syntax for type integer: \"abc\""
        );
    }
}
