//! Bounded LRU of translations keyed by the client's statement text.
//!
//! Bounded twice: by entries, and by bytes, since one entry can be a
//! megabyte of SQL. Statements above a size are never cached: a huge
//! statement (a bulk INSERT of literals) rarely repeats, and caching it
//! would evict hundreds of small ones that do.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::{Dialect, TranslateError, Translation, translate};

pub struct TranslationCache {
    dialect: Dialect,
    entries: Mutex<Entries>,
    max_bytes: usize,
    max_statement: usize,
}

struct Entries {
    lru: LruCache<Box<str>, Arc<Translation>>,
    bytes: usize,
}

/// What an entry costs: both texts plus a fixed allowance for the rest.
fn entry_bytes(sql: &str, t: &Translation) -> usize {
    sql.len() + t.backend_sql.len() + t.param_order.len() * 8 + 256
}

impl TranslationCache {
    /// A cache of `capacity` entries, 64 MiB and 1 MiB statements at most.
    pub fn new(dialect: Dialect, capacity: usize) -> Self {
        Self::with_limits(dialect, capacity, 64 << 20, 1 << 20)
    }

    pub fn with_limits(
        dialect: Dialect,
        capacity: usize,
        max_bytes: usize,
        max_statement: usize,
    ) -> Self {
        TranslationCache {
            dialect,
            entries: Mutex::new(Entries {
                lru: LruCache::new(
                    NonZeroUsize::new(capacity.max(1)).expect("capacity is at least 1"),
                ),
                bytes: 0,
            }),
            max_bytes,
            max_statement,
        }
    }

    /// Bytes held by the cached entries.
    pub fn bytes(&self) -> usize {
        self.entries.lock().expect("cache lock").bytes
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Returns the cached translation, translating (outside the lock) on a miss.
    pub fn get(&self, sql: &str) -> Result<Arc<Translation>, TranslateError> {
        let metrics = crate::telemetry::Metrics::install();
        if let Some(t) = self.entries.lock().expect("cache lock").lru.get(sql) {
            metrics.translation_hits.increment(1);
            return Ok(t.clone());
        }
        metrics.translation_misses.increment(1);
        let started = std::time::Instant::now();
        let t = translate(sql, self.dialect);
        metrics
            .translation_duration
            .record(started.elapsed().as_secs_f64());
        let t = Arc::new(t?);
        if sql.len() > self.max_statement {
            return Ok(t);
        }
        let cost = entry_bytes(sql, &t);
        let mut e = self.entries.lock().expect("cache lock");
        if let Some((old_sql, old)) = e.lru.push(sql.into(), t.clone()) {
            // The same key (a race of two misses) or the entry the count
            // limit evicted.
            e.bytes -= entry_bytes(&old_sql, &old);
        }
        e.bytes += cost;
        while e.bytes > self.max_bytes {
            match e.lru.pop_lru() {
                Some((old_sql, old)) => e.bytes -= entry_bytes(&old_sql, &old),
                None => break,
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_statements_share_one_translation() {
        let c = TranslationCache::new(Dialect::Sqlite, 2);
        let a = c.get("select $1").unwrap();
        let b = c.get("select $1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        c.get("select 2").unwrap();
        c.get("select 3").unwrap();
        let d = c.get("select $1").unwrap();
        assert!(!Arc::ptr_eq(&a, &d), "evicted entries are translated again");
    }

    #[test]
    fn bytes_bound_the_cache_and_huge_statements_are_not_kept() {
        let c = TranslationCache::with_limits(Dialect::Sqlite, 1000, 4096, 1000);
        let huge = format!("select '{}'", "x".repeat(2000));
        let a = c.get(&huge).unwrap();
        assert!(!Arc::ptr_eq(&a, &c.get(&huge).unwrap()), "not cached");
        assert_eq!(c.bytes(), 0);
        for i in 0..100 {
            c.get(&format!("select {i}, '{}'", "y".repeat(200)))
                .unwrap();
            assert!(c.bytes() <= 4096, "{} bytes", c.bytes());
        }
        assert!(c.bytes() > 2048, "the budget is used, not just respected");
    }
}
