//! PostgreSQL's binary output format: fixed-width big-endian numbers,
//! base-10000 numerics, dates and timestamps counted from 2000-01-01.

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;

use super::datetime::{parse_date, parse_time, parse_timestamp};
use super::input::{decode_hex, parse_bool, parse_float};
use super::text::{as_text, encode_text};
use super::{ValueError, invalid, out_of_range};
use crate::bridge::marshal::Value;

/// Writes `v`'s binary form as type `ty` (no length word); types without a
/// binary form of their own are sent as their text.
pub(crate) fn encode_binary(
    buf: &mut BytesMut,
    v: &Value<'_>,
    ty: &Type,
) -> Result<(), ValueError> {
    match *ty {
        Type::BOOL => buf.put_u8(as_bool(v)? as u8),
        Type::INT2 => buf
            .put_i16(i16::try_from(as_int(v, "smallint")?).map_err(|_| out_of_range("smallint"))?),
        Type::INT4 => {
            buf.put_i32(i32::try_from(as_int(v, "integer")?).map_err(|_| out_of_range("integer"))?)
        }
        Type::INT8 => buf.put_i64(as_int(v, "bigint")?),
        Type::OID => {
            buf.put_u32(u32::try_from(as_int(v, "oid")?).map_err(|_| out_of_range("oid"))?)
        }
        Type::FLOAT4 => buf.put_f32(as_float(v, "real")? as f32),
        Type::FLOAT8 => buf.put_f64(as_float(v, "double precision")?),
        Type::BYTEA => match v {
            Value::Bytes(b) => buf.put_slice(b),
            Value::Str(s) => match s.strip_prefix("\\x") {
                Some(hex) => buf.put_slice(&decode_hex(hex).ok_or_else(|| invalid("bytea", s))?),
                None => buf.put_slice(s.as_bytes()),
            },
            other => encode_text(buf, other, ty),
        },
        Type::NUMERIC => {
            let mut tmp = BytesMut::new();
            encode_text(&mut tmp, v, ty);
            let s = std::str::from_utf8(&tmp).unwrap_or("");
            put_numeric_binary(buf, s).ok_or_else(|| invalid("numeric", s))?;
        }
        Type::DATE => {
            let s = as_text(v);
            let days = parse_date(&s).ok_or_else(|| invalid("date", &s))?;
            buf.put_i32(days);
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let s = as_text(v);
            let us = parse_timestamp(&s).ok_or_else(|| invalid("timestamp", &s))?;
            buf.put_i64(us);
        }
        Type::TIME => {
            let s = as_text(v);
            let us = parse_time(&s).ok_or_else(|| invalid("time", &s))?;
            buf.put_i64(us);
        }
        Type::UUID => {
            let s = as_text(v);
            let hex: String = s.chars().filter(|c| *c != '-').collect();
            match decode_hex(&hex) {
                Some(b) if b.len() == 16 => buf.put_slice(&b),
                _ => return Err(invalid("uuid", &s)),
            }
        }
        Type::JSONB => {
            buf.put_u8(1);
            encode_text(buf, v, ty);
        }
        // text-like types: binary form is the text form
        _ => encode_text(buf, v, ty),
    }
    Ok(())
}

fn as_bool(v: &Value<'_>) -> Result<bool, ValueError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(f) => Ok(*f != 0.0),
        Value::Str(s) => parse_bool(s).ok_or_else(|| invalid("boolean", s)),
        _ => Err(invalid("boolean", &as_text(v))),
    }
}

fn as_int(v: &Value<'_>, ty: &str) -> Result<i64, ValueError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        Value::Float(f) if f.is_finite() => {
            let r = f.round();
            if r >= i64::MIN as f64 && r <= i64::MAX as f64 {
                Ok(r as i64)
            } else {
                Err(out_of_range(ty))
            }
        }
        Value::BigInt(_) => Err(out_of_range(ty)),
        Value::Str(s) => s.trim().parse().map_err(|_| invalid(ty, s)),
        _ => Err(invalid(ty, &as_text(v))),
    }
}

fn as_float(v: &Value<'_>, ty: &str) -> Result<f64, ValueError> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::BigInt(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(*b as i64 as f64),
        Value::Str(s) => parse_float(s).ok_or_else(|| invalid(ty, s)),
        _ => Err(invalid(ty, &as_text(v))),
    }
}

/// PostgreSQL binary numeric from decimal text (`-12.3400`).
pub(crate) fn put_numeric_binary(buf: &mut BytesMut, s: &str) -> Option<()> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("nan") {
        buf.put_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return Some(());
    }
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_part, frac_part) = s.split_once('.').unwrap_or((s, ""));
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
        || (int_part.is_empty() && frac_part.is_empty())
    {
        return None;
    }
    let dscale = frac_part.len() as u16;
    let int_part = int_part.trim_start_matches('0');
    // Pad to base-10000 group boundaries on both sides of the point.
    let lead = (4 - int_part.len() % 4) % 4;
    let trail = (4 - frac_part.len() % 4) % 4;
    let mut all = String::with_capacity(lead + int_part.len() + frac_part.len() + trail);
    all.extend(std::iter::repeat_n('0', lead));
    all.push_str(int_part);
    all.push_str(frac_part);
    all.extend(std::iter::repeat_n('0', trail));
    let int_groups = (lead + int_part.len()) / 4;
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |a, d| a * 10 + (d - b'0') as i16))
        .collect();
    let mut weight = int_groups as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    buf.put_i16(groups.len() as i16);
    buf.put_i16(weight);
    buf.put_u16(if neg && !groups.is_empty() { 0x4000 } else { 0 });
    buf.put_u16(dscale);
    for g in groups {
        buf.put_i16(g);
    }
    Some(())
}
