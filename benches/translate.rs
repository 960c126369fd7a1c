//! What translation costs (criterion):
//!
//!     cargo bench --bench translate
//!
//! - `cached`: a repeated statement, found in the LRU cache by its text;
//! - `plain_uncached`: a statement that needs no rewrite, translated anew
//!   (not parsed: the scan finds nothing to rewrite);
//! - `plain_analysis`: the same statement's one-time type analysis, done
//!   the first time its parameters or result must be described;
//! - `vector_uncached`: a pgvector top-k query, parsed and rewritten to
//!   IRIS's index-friendly shape;
//! - `scan_plain`: the cheap scan alone that tells a statement needing a
//!   rewrite from one that does not.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use iriswire::translate::cache::TranslationCache;
use iriswire::translate::{Dialect, needs_rewrite, translate};

const PLAIN: &str = "SELECT id, name, price FROM products WHERE id = $1";
const VECTOR: &str =
    "SELECT id, embedding <=> $1 AS distance FROM items ORDER BY embedding <=> $1 LIMIT 10";

fn bench(c: &mut Criterion) {
    let cache = TranslationCache::new(Dialect::Iris, 1024);
    cache.get(PLAIN).unwrap();
    c.bench_function("cached", |b| {
        b.iter(|| cache.get(black_box(PLAIN)).unwrap())
    });
    c.bench_function("scan_plain", |b| b.iter(|| needs_rewrite(black_box(PLAIN))));
    c.bench_function("plain_uncached", |b| {
        b.iter(|| translate(black_box(PLAIN), Dialect::Iris).unwrap())
    });
    c.bench_function("plain_analysis", |b| {
        b.iter(|| {
            let t = translate(black_box(PLAIN), Dialect::Iris).unwrap();
            t.analysis().param_types.len()
        })
    });
    c.bench_function("vector_uncached", |b| {
        b.iter(|| translate(black_box(VECTOR), Dialect::Iris).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
