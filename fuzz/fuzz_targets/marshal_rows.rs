//! Bytes from a (corrupt or hostile) worker must never crash the decoder.
#![no_main]

use iriswire::bridge::marshal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&width, payload)) = data.split_first() else {
        return;
    };
    let mut out = Vec::new();
    if let Ok(rows) = marshal::decode_rows(payload, width as usize % 16, &mut out) {
        assert_eq!(out.len(), rows * (width as usize % 16));
    }
    let _ = iriswire::bridge::protocol::parse_error(payload);
    let _ = iriswire::bridge::protocol::parse_prepared(payload);
    let _ = iriswire::bridge::protocol::parse_ready(payload);
});
