//! Backend values → PostgreSQL wire values (text and binary), and client
//! parameters → bridge values. Everything writes into caller-owned buffers.

use bytes::{BufMut, BytesMut};
use pgwire::api::Type;

use crate::bridge::marshal::{Value, Writer};

/// A value that cannot be represented as the column's PostgreSQL type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub sqlstate: &'static str,
    pub message: String,
}

fn invalid(ty: &str, text: &str) -> ValueError {
    ValueError {
        sqlstate: "22P02",
        message: format!("invalid input syntax for type {ty}: \"{text}\""),
    }
}

fn out_of_range(ty: &str) -> ValueError {
    ValueError {
        sqlstate: "22003",
        message: format!("value out of range for type {ty}"),
    }
}

/// Appends one DataRow field (length word + bytes) for `v` as type `ty`.
/// `scale` is a `numeric` column's declared scale: values are written with
/// exactly that many decimals, as PostgreSQL stores them.
pub fn encode_field(
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
    if crate::catalog::types::is_vector(ty) {
        let text = as_text(v);
        if binary {
            put_vector_binary(buf, &text).ok_or_else(|| invalid("vector", &text))?;
        } else {
            put_vector_text(buf, &text);
        }
        let len = (buf.len() - len_at - 4) as i32;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        return Ok(());
    }
    match (scale, *ty == Type::NUMERIC, binary) {
        (Some(scale), true, false) => put_numeric_scaled(buf, v, scale),
        (Some(scale), true, true) => {
            let mut tmp = BytesMut::new();
            put_numeric_scaled(&mut tmp, v, scale);
            let s = std::str::from_utf8(&tmp).unwrap_or("");
            put_numeric_binary(buf, s).ok_or_else(|| invalid("numeric", s))?;
        }
        (_, _, true) => encode_binary(buf, v, ty)?,
        (_, _, false) => encode_text(buf, v, ty),
    }
    let len = (buf.len() - len_at - 4) as i32;
    buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn encode_text(buf: &mut BytesMut, v: &Value<'_>, ty: &Type) {
    match (v, ty) {
        (Value::Int(i), &Type::BOOL) => buf.put_slice(if *i != 0 { b"t" } else { b"f" }),
        (Value::Bool(b), _) => {
            if *ty == Type::BOOL {
                buf.put_slice(if *b { b"t" } else { b"f" })
            } else {
                buf.put_slice(if *b { b"1" } else { b"0" })
            }
        }
        (Value::Str(s), &Type::BOOL) => buf.put_slice(match parse_bool(s) {
            Some(true) => b"t",
            Some(false) => b"f",
            None => s.as_bytes(),
        }),
        (Value::Int(i), _) => buf.put_slice(itoa::Buffer::new().format(*i).as_bytes()),
        (Value::BigInt(i), _) => buf.put_slice(itoa::Buffer::new().format(*i).as_bytes()),
        (Value::Float(f), &Type::INT2 | &Type::INT4 | &Type::INT8) if f.fract() == 0.0 => {
            buf.put_slice(itoa::Buffer::new().format(*f as i64).as_bytes())
        }
        (Value::Float(f), _) => put_float_text(buf, *f),
        (Value::Str(s), _) => buf.put_slice(s.as_bytes()),
        (Value::Bytes(b), &Type::BYTEA) | (Value::Bytes(b), &Type::UNKNOWN) => {
            put_hex_bytea(buf, b)
        }
        (Value::Bytes(b), _) => match std::str::from_utf8(b) {
            Ok(s) => buf.put_slice(s.as_bytes()),
            Err(_) => put_hex_bytea(buf, b),
        },
        (Value::Null, _) => {}
    }
}

/// A numeric value with exactly `scale` decimals (SQLite keeps `3.10` as
/// the float 3.1, and sums of decimals pick up binary noise).
fn put_numeric_scaled(buf: &mut BytesMut, v: &Value<'_>, scale: u16) {
    use std::fmt::Write;
    let scale = scale as usize;
    let mut w = FmtBuf(buf);
    match v {
        Value::Float(f) if f.is_finite() => {
            let _ = write!(w, "{f:.scale$}");
        }
        Value::Int(i) => {
            let _ = write!(w, "{i}");
            pad_decimals(w.0, scale, 0);
        }
        Value::BigInt(i) => {
            let _ = write!(w, "{i}");
            pad_decimals(w.0, scale, 0);
        }
        Value::Str(s) if s.trim().parse::<f64>().is_ok() && !s.contains(['e', 'E']) => {
            let s = s.trim();
            let have = s.split_once('.').map(|(_, f)| f.len()).unwrap_or(0);
            if have <= scale {
                buf.put_slice(s.as_bytes());
                pad_decimals(buf, scale, have);
            } else {
                // More digits than declared: round as PostgreSQL does on input.
                let f: f64 = s.parse().unwrap_or(0.0);
                let _ = write!(FmtBuf(buf), "{f:.scale$}");
            }
        }
        other => encode_text(buf, other, &Type::NUMERIC),
    }
}

fn pad_decimals(buf: &mut BytesMut, scale: usize, have: usize) {
    if scale > have {
        if have == 0 {
            buf.put_u8(b'.');
        }
        for _ in have..scale {
            buf.put_u8(b'0');
        }
    }
}

/// `fmt::Write` into a `BytesMut`.
struct FmtBuf<'a>(&'a mut BytesMut);

impl std::fmt::Write for FmtBuf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.put_slice(s.as_bytes());
        Ok(())
    }
}

fn put_hex_bytea(buf: &mut BytesMut, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.reserve(2 + b.len() * 2);
    buf.put_slice(b"\\x");
    for &x in b {
        buf.put_u8(HEX[(x >> 4) as usize]);
        buf.put_u8(HEX[(x & 15) as usize]);
    }
}

/// float8 text as PostgreSQL (12+) writes it: shortest round-trip digits,
/// exponent form outside 1e-4 ≤ |x| < 1e15, `Infinity`/`NaN` spelled out.
pub fn put_float_text(buf: &mut BytesMut, f: f64) {
    if f.is_nan() {
        return buf.put_slice(b"NaN");
    }
    if f.is_infinite() {
        return buf.put_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
    }
    if f == 0.0 {
        return buf.put_slice(if f.is_sign_negative() { b"-0" } else { b"0" });
    }
    let abs = f.abs();
    // Common case first, without digit shuffling: whole numbers print as
    // integers, and ryu's plain decimal form is already PostgreSQL's inside
    // 1e-4 <= |x| < 1e15 (ryu switches to exponents only outside 1e-5..1e16).
    if abs < 1e15 && f.fract() == 0.0 {
        buf.put_slice(itoa::Buffer::new().format(f as i64).as_bytes());
        return;
    }
    let mut rb = ryu::Buffer::new();
    let s = rb.format_finite(f);
    if (1e-4..1e15).contains(&abs) && !s.as_bytes().contains(&b'e') {
        buf.put_slice(s.as_bytes());
        return;
    }
    // Exponent form: collect the shortest digits and the decimal exponent.
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mant, exp10) = match s.find('e') {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    // Collect the significant digits and the decimal exponent of the first one.
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits: Vec<u8> = Vec::with_capacity(20);
    digits.extend_from_slice(int_part.as_bytes());
    digits.extend_from_slice(frac_part.as_bytes());
    let mut point = int_part.len() as i32 + exp10; // digits before the decimal point
    while digits.len() > 1 && digits[0] == b'0' {
        digits.remove(0);
        point -= 1;
    }
    while digits.len() > 1 && *digits.last().unwrap() == b'0' {
        digits.pop();
    }
    let exp = point - 1;
    if neg {
        buf.put_u8(b'-');
    }
    if !(-4..15).contains(&exp) {
        buf.put_u8(digits[0]);
        if digits.len() > 1 {
            buf.put_u8(b'.');
            buf.put_slice(&digits[1..]);
        }
        buf.put_u8(b'e');
        buf.put_u8(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            buf.put_u8(b'0');
        }
        buf.put_slice(itoa::Buffer::new().format(e).as_bytes());
    } else if point <= 0 {
        buf.put_slice(b"0.");
        for _ in 0..(-point) {
            buf.put_u8(b'0');
        }
        buf.put_slice(&digits);
    } else if point as usize >= digits.len() {
        buf.put_slice(&digits);
        for _ in 0..(point as usize - digits.len()) {
            buf.put_u8(b'0');
        }
    } else {
        buf.put_slice(&digits[..point as usize]);
        buf.put_u8(b'.');
        buf.put_slice(&digits[point as usize..]);
    }
}

fn encode_binary(buf: &mut BytesMut, v: &Value<'_>, ty: &Type) -> Result<(), ValueError> {
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

fn as_text(v: &Value<'_>) -> String {
    let mut b = BytesMut::new();
    encode_text(&mut b, v, &Type::TEXT);
    String::from_utf8_lossy(&b).into_owned()
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

pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

pub fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// PostgreSQL binary numeric from decimal text (`-12.3400`).
fn put_numeric_binary(buf: &mut BytesMut, s: &str) -> Option<()> {
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

/// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const PG_EPOCH_DAYS: i64 = 10957; // 2000-01-01 - 1970-01-01

/// `YYYY-MM-DD` → days since 2000-01-01.
fn parse_date(s: &str) -> Option<i32> {
    let s = s.trim();
    let date = s.get(..10)?;
    let mut it = date.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((days_from_civil(y, m, d) - PG_EPOCH_DAYS) as i32)
}

/// `HH:MM:SS[.ffffff]` → microseconds.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let end = s.find(['+', 'Z', '-']).unwrap_or(s.len());
    let t = &s[..end];
    let mut it = t.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec = it.next().unwrap_or("0");
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let whole: i64 = whole.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, c) in frac.bytes().take(6).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += (c - b'0') as i64 * 10i64.pow(5 - i as u32);
    }
    Some(((h * 60 + m) * 60 + whole) * 1_000_000 + micros)
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][+HH[:MM]]` → microseconds since
/// 2000-01-01 00:00 (UTC when an offset is given).
fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let days = parse_date(s)? as i64;
    let rest = s.get(10..).unwrap_or("").trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return Some(days * 86_400_000_000);
    }
    let micros = parse_time(rest)?;
    let mut offset = 0i64;
    if let Some(pos) = rest.find(['+', '-']) {
        let sign = if &rest[pos..pos + 1] == "-" { -1 } else { 1 };
        let tz = &rest[pos + 1..];
        let (h, m) = tz
            .split_once(':')
            .unwrap_or((tz.get(..2)?, tz.get(2..).unwrap_or("0")));
        let h: i64 = h.parse().ok()?;
        let m: i64 = if m.is_empty() { 0 } else { m.parse().ok()? };
        offset = sign * (h * 3600 + m * 60) * 1_000_000;
    }
    Some(days * 86_400_000_000 + micros - offset)
}

fn format_timestamp(us: i64, with_tz: bool) -> String {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let mut s = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    if with_tz {
        s.push_str("+00");
    }
    s
}

/// Writes one client parameter, already decoded per its type and format, as
/// a bridge value.
pub fn write_param(
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
    let text = std::str::from_utf8(raw).map_err(|_| ValueError {
        sqlstate: "22021",
        message: "invalid byte sequence for encoding \"UTF8\"".into(),
    })?;
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
        _ if crate::catalog::types::is_vector(ty) => {
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

/// pgvector's text form `[1,2.5,3]`: each element printed as the shortest
/// text that reads back as the same float4, whatever spelling the value was
/// stored with (`[1.0, 2.5, 3.0]` from a client, IRIS's `1,2.5,3`).
fn put_vector_text(buf: &mut BytesMut, text: &str) {
    use std::fmt::Write;
    match vector_elements(text) {
        Some(elems) => {
            buf.put_u8(b'[');
            for (i, e) in elems.iter().enumerate() {
                if i > 0 {
                    buf.put_u8(b',');
                }
                let _ = write!(FmtBuf(buf), "{e}");
            }
            buf.put_u8(b']');
        }
        // Not a vector we can read: sent as stored rather than altered.
        None => buf.put_slice(text.trim().as_bytes()),
    }
}

/// The elements of a vector in text form, with or without brackets.
fn vector_elements(text: &str) -> Option<Vec<f32>> {
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    inner
        .split(',')
        .map(|x| x.trim().parse::<f32>().ok().filter(|f| f.is_finite()))
        .collect()
}

/// pgvector's binary form: int16 dimensions, int16 unused (0), then each
/// element as a big-endian float4.
fn put_vector_binary(buf: &mut BytesMut, text: &str) -> Option<()> {
    let elems = vector_elements(text)?;
    buf.put_i16(i16::try_from(elems.len()).ok()?);
    buf.put_i16(0);
    for e in elems {
        buf.put_f32(e);
    }
    Some(())
}

/// A binary `vector` parameter, as pgvector's text form.
fn vector_binary_to_text(raw: &[u8]) -> Option<String> {
    let dims = i16::from_be_bytes(raw.get(0..2)?.try_into().ok()?);
    let unused = i16::from_be_bytes(raw.get(2..4)?.try_into().ok()?);
    let body = raw.get(4..)?;
    if dims < 1 || unused != 0 || body.len() != dims as usize * 4 {
        return None;
    }
    let mut out = String::with_capacity(body.len() * 3 + 2);
    out.push('[');
    for (i, c) in body.chunks_exact(4).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f32::from_be_bytes(c.try_into().ok()?);
        // Rust prints the shortest text that reads back as the same f32,
        // as pgvector does (`1`, `2.5`, `0.1`).
        out.push_str(&format!("{f}"));
    }
    out.push(']');
    Some(out)
}

fn write_binary_param(w: &mut Writer<'_>, raw: &[u8], ty: &Type) -> Result<(), ValueError> {
    if crate::catalog::types::is_vector(ty) {
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
        _ => w.str(std::str::from_utf8(raw).map_err(|_| bad())?),
    }
    Ok(())
}

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

    fn text(v: Value<'_>, ty: Type) -> String {
        let mut b = BytesMut::new();
        encode_text(&mut b, &v, &ty);
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn vectors_in_pgvector_text_and_binary_forms() {
        let ty = crate::catalog::types::VECTOR.clone();
        for stored in ["[1,2.5,3]", "1,2.5,3", "[1.0, 2.5, 3.0]"] {
            let mut buf = BytesMut::new();
            encode_field(&mut buf, &Value::Str(stored), &ty, None, false).unwrap();
            assert_eq!(&buf[4..], b"[1,2.5,3]");
        }
        let mut buf = BytesMut::new();
        encode_field(&mut buf, &Value::Str("[1,2.5]"), &ty, None, true).unwrap();
        assert_eq!(
            &buf[..],
            &[0, 0, 0, 12, 0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0x40, 0x20, 0, 0][..]
        );
        assert_eq!(vector_binary_to_text(&buf[4..]).as_deref(), Some("[1,2.5]"));
        assert_eq!(vector_binary_to_text(&[0, 2, 0, 0, 0, 0]), None);
        let mut buf = BytesMut::new();
        assert!(encode_field(&mut buf, &Value::Str("[1,x]"), &ty, None, true).is_err());
        // Text parameters are stored in pgvector's spelling; unreadable ones unchanged.
        for (sent, stored) in [("[4.0, 0.5,-2.0]", "[4,0.5,-2]"), ("[1,x]", "[1,x]")] {
            let mut out = Vec::new();
            write_param(
                &mut Writer { buf: &mut out },
                Some(sent.as_bytes()),
                &ty,
                false,
            )
            .unwrap();
            let mut expected = Vec::new();
            Writer { buf: &mut expected }.str(stored);
            assert_eq!(out, expected, "{sent}");
        }
    }

    #[test]
    fn floats_print_like_postgresql() {
        for (f, want) in [
            (1.5, "1.5"),
            (5.0, "5"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-10, "-2.5e-10"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(text(Value::Float(f), Type::FLOAT8), want, "{f}");
        }
    }

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

    #[test]
    fn booleans_and_bytea_in_text() {
        assert_eq!(text(Value::Int(1), Type::BOOL), "t");
        assert_eq!(text(Value::Str("false"), Type::BOOL), "f");
        assert_eq!(text(Value::Bytes(&[0xde, 0xad]), Type::BYTEA), "\\xdead");
    }

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
    fn dates_and_timestamps_use_the_2000_epoch() {
        assert_eq!(parse_date("2000-01-01"), Some(0));
        assert_eq!(parse_date("1999-12-31"), Some(-1));
        assert_eq!(parse_timestamp("2000-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_timestamp("2000-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(format_timestamp(1_500_000, false), "2000-01-01 00:00:01.5");
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
