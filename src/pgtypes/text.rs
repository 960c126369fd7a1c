//! PostgreSQL's text output format: values as `psql` shows them.

use super::datetime::{parse_timestamp, write_timestamp};
use bytes::{BufMut, BytesMut};
use pgwire::api::Type;

use super::input::parse_bool;
use crate::bridge::marshal::Value;

/// Writes `v`'s text form as type `ty` (no length word).
pub(crate) fn encode_text(buf: &mut BytesMut, v: &Value<'_>, ty: &Type) {
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
        // A timestamptz is an instant: printed in UTC with its offset, as
        // PostgreSQL prints it with TimeZone UTC, whatever offset it was
        // stored with (drivers such as node-postgres need the offset).
        (Value::Str(s), &Type::TIMESTAMPTZ) => match parse_timestamp(s) {
            Some(us) => write_timestamp(buf, us, true),
            None => buf.put_slice(s.as_bytes()),
        },
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
pub(crate) fn put_numeric_scaled(buf: &mut BytesMut, v: &Value<'_>, scale: u16) {
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
pub(crate) struct FmtBuf<'a>(pub(crate) &'a mut BytesMut);

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
fn put_float_text(buf: &mut BytesMut, f: f64) {
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

/// Any value's text form, as an owned string: the input the binary encoders
/// parse for dates, numerics, UUIDs and vectors.
pub(crate) fn as_text(v: &Value<'_>) -> String {
    let mut b = BytesMut::new();
    encode_text(&mut b, v, &Type::TEXT);
    String::from_utf8_lossy(&b).into_owned()
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
    fn booleans_and_bytea_in_text() {
        assert_eq!(text(Value::Int(1), Type::BOOL), "t");
        assert_eq!(text(Value::Str("false"), Type::BOOL), "f");
        assert_eq!(text(Value::Bytes(&[0xde, 0xad]), Type::BYTEA), "\\xdead");
    }
}
