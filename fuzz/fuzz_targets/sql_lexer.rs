//! Any client text: splitting, placeholder renumbering and escape-string
//! rewriting must not panic, and splitting must not invent text.
#![no_main]

use iriswire::translate::lexer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|sql: &str| {
    for stmt in lexer::split_statements(sql) {
        assert!(sql.contains(stmt));
    }
    let (rewritten, order) = lexer::positional_placeholders(sql);
    assert_eq!(rewritten.matches('?').count() >= order.len(), true);
    if lexer::has_escape_strings(sql) {
        let _ = lexer::standard_strings(sql);
    }
    let _ = lexer::leading_keywords(sql, 3);
});
