//! The whole translation of a statement, for both dialects: errors are fine,
//! panics are not.
#![no_main]

use iriswire::translate::{Dialect, translate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|sql: &str| {
    let _ = translate(sql, Dialect::Sqlite);
    let _ = translate(sql, Dialect::Iris);
});
