//! PostgreSQL's input syntax for booleans, floats and hex: how its input
//! functions read text. Client parameters are read this way, and so are
//! stored strings the output side has to turn into a typed value.

/// PostgreSQL's boolean input spellings (`t`, `yes`, `on`, `1`, ...).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A float in PostgreSQL's input syntax, `Infinity` and `NaN` included.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

/// Hex digits (a `bytea` after its `\x`, a UUID without dashes) → bytes.
pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// PostgreSQL's message for text it cannot take: an invalid UTF-8 sequence,
/// or a NUL byte (PostgreSQL's text cannot hold one), `None` when valid.
pub(crate) fn invalid_utf8(bytes: &[u8]) -> Option<String> {
    let Some(err) = std::str::from_utf8(bytes).err() else {
        return bytes
            .contains(&0)
            .then(|| "invalid byte sequence for encoding \"UTF8\": 0x00".to_owned());
    };
    let at = err.valid_up_to();
    // As PostgreSQL reports it: the bytes the lead byte claims, at most
    // what is there.
    let claimed = match bytes[at] {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    };
    let bad = &bytes[at..(at + claimed).min(bytes.len())];
    let hex: Vec<String> = bad.iter().map(|b| format!("0x{b:02x}")).collect();
    Some(format!(
        "invalid byte sequence for encoding \"UTF8\": {}",
        hex.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_named_as_postgresql_does() {
        assert_eq!(
            invalid_utf8(b"select '\xc3\x28'").unwrap(),
            "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28"
        );
        assert!(invalid_utf8("select 'é'".as_bytes()).is_none());
    }
}
