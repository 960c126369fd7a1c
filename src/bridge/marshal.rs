//! A decoder and encoder for the subset of CPython's `marshal` format (version 4)
//! that the bridge exchanges.
//!
//! The worker serialises whole result batches with `marshal.dumps(rows)`, which
//! runs entirely in C; decoding here borrows strings and bytes straight from
//! the frame buffer, so a batch costs one `Vec` of values and no per-row or
//! per-value allocation.

use thiserror::Error;

const FLAG_REF: u8 = 0x80;

/// One decoded scalar. Strings and bytes borrow the frame they came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer outside `i64` (Python ints are unbounded); rendered as numeric.
    BigInt(i128),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

#[derive(Debug, Error, PartialEq)]
pub enum MarshalError {
    #[error("marshal data ends early")]
    Truncated,
    #[error("marshal type code {0:#04x} is not supported here")]
    UnsupportedType(u8),
    #[error("marshal string is not valid UTF-8")]
    InvalidUtf8,
    #[error("marshal integer does not fit in 128 bits")]
    IntegerTooLarge,
    #[error("marshal reference {0} is unknown")]
    BadReference(u32),
    #[error("expected {expected}, found type code {found:#04x}")]
    Unexpected { expected: &'static str, found: u8 },
    #[error("row has {found} columns, expected {expected}")]
    RaggedRow { expected: usize, found: usize },
}

/// A cursor over marshal bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Objects flagged with FLAG_REF, in the order they were met; `None` marks
    /// a container (which our payloads never reference back).
    refs: Vec<Option<Value<'a>>>,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            refs: Vec::new(),
        }
    }

    /// The type code of the next object, without its reference flag.
    pub fn peek_code(&self) -> Option<u8> {
        self.buf.get(self.pos).map(|b| b & !FLAG_REF)
    }

    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self) -> Result<u8, MarshalError> {
        let b = *self.buf.get(self.pos).ok_or(MarshalError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MarshalError> {
        let end = self.pos.checked_add(n).ok_or(MarshalError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(MarshalError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, MarshalError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn str_of(&mut self, n: usize) -> Result<&'a str, MarshalError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| MarshalError::InvalidUtf8)
    }

    /// Reads a container header (tuple, list, set) and returns its length.
    /// Reserves its reference slot as CPython does, before the items.
    pub fn container(&mut self) -> Result<usize, MarshalError> {
        let code = self.byte()?;
        if code & FLAG_REF != 0 {
            self.refs.push(None);
        }
        match code & !FLAG_REF {
            b')' => Ok(self.byte()? as usize),
            b'(' | b'[' | b'<' | b'>' => Ok(self.u32()? as usize),
            other => Err(MarshalError::Unexpected {
                expected: "a tuple or list",
                found: other,
            }),
        }
    }

    /// Reads one scalar value.
    pub fn value(&mut self) -> Result<Value<'a>, MarshalError> {
        let code = self.byte()?;
        let flagged = code & FLAG_REF != 0;
        let slot = if flagged {
            self.refs.push(None);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let v = match code & !FLAG_REF {
            b'N' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => {
                let b = self.take(4)?;
                Value::Int(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            }
            b'l' => self.long()?,
            b'g' => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Float(f64::from_le_bytes(a))
            }
            b'z' | b'Z' => {
                let n = self.byte()? as usize;
                Value::Str(self.str_of(n)?)
            }
            b'a' | b'A' | b'u' | b't' => {
                let n = self.u32()? as usize;
                Value::Str(self.str_of(n)?)
            }
            b's' => {
                let n = self.u32()? as usize;
                Value::Bytes(self.take(n)?)
            }
            b'r' => {
                let idx = self.u32()?;
                match self.refs.get(idx as usize) {
                    Some(Some(v)) => *v,
                    _ => return Err(MarshalError::BadReference(idx)),
                }
            }
            other => return Err(MarshalError::UnsupportedType(other)),
        };
        if let Some(slot) = slot {
            self.refs[slot] = Some(v);
        }
        Ok(v)
    }

    fn long(&mut self) -> Result<Value<'a>, MarshalError> {
        let n = self.u32()? as i32;
        let digits = n.unsigned_abs() as usize;
        // 15-bit digits, least significant first; 8 digits already exceed i128.
        if digits > 8 {
            return Err(MarshalError::IntegerTooLarge);
        }
        let raw = self.take(digits * 2)?;
        let mut acc: i128 = 0;
        for (i, d) in raw.chunks_exact(2).enumerate() {
            let d = u16::from_le_bytes([d[0], d[1]]) as i128;
            acc |= d << (15 * i);
        }
        if n < 0 {
            acc = -acc;
        }
        Ok(match i64::try_from(acc) {
            Ok(v) => Value::Int(v),
            Err(_) => Value::BigInt(acc),
        })
    }

    /// Reads an optional string (`None` or `str`).
    pub fn opt_str(&mut self) -> Result<Option<&'a str>, MarshalError> {
        match self.value()? {
            Value::Null => Ok(None),
            Value::Str(s) => Ok(Some(s)),
            _ => Err(MarshalError::Unexpected {
                expected: "a string",
                found: 0,
            }),
        }
    }

    pub fn string(&mut self) -> Result<&'a str, MarshalError> {
        self.opt_str()?.ok_or(MarshalError::Unexpected {
            expected: "a string",
            found: b'N',
        })
    }

    pub fn int(&mut self) -> Result<i64, MarshalError> {
        match self.value()? {
            Value::Int(i) => Ok(i),
            Value::Bool(b) => Ok(b as i64),
            _ => Err(MarshalError::Unexpected {
                expected: "an integer",
                found: 0,
            }),
        }
    }

    pub fn opt_int(&mut self) -> Result<Option<i64>, MarshalError> {
        match self.value()? {
            Value::Null => Ok(None),
            Value::Int(i) => Ok(Some(i)),
            _ => Err(MarshalError::Unexpected {
                expected: "an integer",
                found: 0,
            }),
        }
    }

    pub fn bool(&mut self) -> Result<bool, MarshalError> {
        match self.value()? {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            _ => Err(MarshalError::Unexpected {
                expected: "a boolean",
                found: 0,
            }),
        }
    }

    /// Consumes a dict opener (`{`); pairs follow until [`Self::at_dict_end`].
    pub fn skip_dict_header(&mut self) {
        if let Some(b) = self.buf.get(self.pos) {
            if b & FLAG_REF != 0 {
                self.refs.push(None);
            }
            self.pos += 1;
        }
    }

    /// True (and consumed) at a dict's `0` terminator or at the end of input.
    pub fn at_dict_end(&mut self) -> bool {
        match self.buf.get(self.pos) {
            Some(b'0') => {
                self.pos += 1;
                true
            }
            None => true,
            _ => false,
        }
    }

    /// Returns true and consumes the byte if the next object is `None`.
    pub fn take_none(&mut self) -> bool {
        if self.buf.get(self.pos).map(|b| b & !FLAG_REF) == Some(b'N') {
            self.pos += 1;
            true
        } else {
            false
        }
    }
}

/// Decodes a batch (`list` of row `tuple`s) into `out`, row-major, and
/// returns the number of rows. `width` is the column count every row must have.
pub fn decode_rows<'a>(
    buf: &'a [u8],
    width: usize,
    out: &mut Vec<Value<'a>>,
) -> Result<usize, MarshalError> {
    let mut r = Reader::new(buf);
    let rows = r.container()?;
    // Counts come from the peer: reserve no more than the bytes could hold
    // (every value takes at least one byte).
    out.reserve(rows.saturating_mul(width).min(buf.len()));
    for _ in 0..rows {
        let n = r.container()?;
        if n != width {
            return Err(MarshalError::RaggedRow {
                expected: width,
                found: n,
            });
        }
        for _ in 0..n {
            out.push(r.value()?);
        }
    }
    Ok(rows)
}

/// Appends marshal encodings to a byte buffer.
pub struct Writer<'b> {
    pub buf: &'b mut Vec<u8>,
}

impl Writer<'_> {
    pub fn tuple_header(&mut self, n: usize) {
        if n < 256 {
            self.buf.push(b')');
            self.buf.push(n as u8);
        } else {
            self.buf.push(b'(');
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }

    pub fn none(&mut self) {
        self.buf.push(b'N');
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(if v { b'T' } else { b'F' });
    }

    pub fn int(&mut self, v: i64) {
        if let Ok(small) = i32::try_from(v) {
            self.buf.push(b'i');
            self.buf.extend_from_slice(&small.to_le_bytes());
            return;
        }
        // Python long: sign-and-count header, then 15-bit digits.
        let mut mag = v.unsigned_abs();
        let mut digits = Vec::with_capacity(5);
        while mag > 0 {
            digits.push((mag & 0x7fff) as u16);
            mag >>= 15;
        }
        let n = digits.len() as i32;
        self.buf.push(b'l');
        self.buf
            .extend_from_slice(&(if v < 0 { -n } else { n }).to_le_bytes());
        for d in digits {
            self.buf.extend_from_slice(&d.to_le_bytes());
        }
    }

    pub fn float(&mut self, v: f64) {
        self.buf.push(b'g');
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.buf.push(b'u');
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.push(b's');
        self.buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Produced by CPython 3.11: marshal.dumps([(1,'ab',None,1.5,b'x',True,2**70,'ab','é')])
    const SAMPLE: &[u8] = b"[\x01\x00\x00\x00)\t\xe9\x01\x00\x00\x00\xda\x02abN\xe7\x00\x00\x00\x00\x00\x00\xf8?\xf3\x01\x00\x00\x00xTl\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04r\x01\x00\x00\x00\xf5\x02\x00\x00\x00\xc3\xa9";

    #[test]
    fn decodes_cpython_batch_with_refs() {
        let mut out = Vec::new();
        let n = decode_rows(SAMPLE, 9, &mut out).unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            out,
            vec![
                Value::Int(1),
                Value::Str("ab"),
                Value::Null,
                Value::Float(1.5),
                Value::Bytes(b"x"),
                Value::Bool(true),
                Value::BigInt(1i128 << 70),
                Value::Str("ab"),
                Value::Str("é"),
            ]
        );
    }

    #[test]
    fn ragged_and_truncated_input_are_errors() {
        let mut out = Vec::new();
        assert_eq!(
            decode_rows(SAMPLE, 3, &mut out),
            Err(MarshalError::RaggedRow {
                expected: 3,
                found: 9
            })
        );
        out.clear();
        assert_eq!(
            decode_rows(&SAMPLE[..20], 9, &mut out),
            Err(MarshalError::Truncated)
        );
    }

    #[test]
    fn int_round_trips_through_long_form() {
        for v in [0i64, -1, 1 << 31, -(1 << 40), i64::MAX, i64::MIN + 1] {
            let mut buf = Vec::new();
            Writer { buf: &mut buf }.int(v);
            assert_eq!(Reader::new(&buf).value().unwrap(), Value::Int(v), "{v}");
        }
    }
}
