//! A raw client byte stream, from the start-up packet through password
//! messages to the query protocols, as one connection's framing and
//! pgwire's decoders see it: protocol errors are fine, panics are not.
#![no_main]

use iriswire::frontend::framing::replay;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how many password messages precede login, so
    // the corpus covers trust, password and SASL's two round trips.
    let Some((&auth, stream)) = data.split_first() else {
        return;
    };
    let _ = replay(stream, usize::from(auth % 3), 1 << 20);
});
