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
