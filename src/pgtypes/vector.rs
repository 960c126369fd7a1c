//! pgvector's `vector` on the wire: its text form `[1,2.5,3]` and its binary
//! form (dimensions, then big-endian float4s), whatever spelling the backend
//! stored (SQLite keeps the client's text, IRIS writes `1,2.5,3`).

use bytes::{BufMut, BytesMut};

use super::text::FmtBuf;

/// pgvector's text form `[1,2.5,3]`: each element printed as the shortest
/// text that reads back as the same float4, whatever spelling the value was
/// stored with (`[1.0, 2.5, 3.0]` from a client, IRIS's `1,2.5,3`).
pub(crate) fn put_vector_text(buf: &mut BytesMut, text: &str) {
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
pub(crate) fn vector_elements(text: &str) -> Option<Vec<f32>> {
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
pub(crate) fn put_vector_binary(buf: &mut BytesMut, text: &str) -> Option<()> {
    let elems = vector_elements(text)?;
    buf.put_i16(i16::try_from(elems.len()).ok()?);
    buf.put_i16(0);
    for e in elems {
        buf.put_f32(e);
    }
    Some(())
}

/// A binary `vector` parameter, as pgvector's text form.
pub(crate) fn vector_binary_to_text(raw: &[u8]) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::marshal::{Value, Writer};
    use crate::pgtypes::{encode_field, mapping, write_param};

    #[test]
    fn vectors_in_pgvector_text_and_binary_forms() {
        let ty = mapping::VECTOR.clone();
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
}
