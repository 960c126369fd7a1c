//! Bounded LRU of translations keyed by the client's statement text.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::{Dialect, TranslateError, Translation, translate};

pub struct TranslationCache {
    dialect: Dialect,
    entries: Mutex<LruCache<Box<str>, Arc<Translation>>>,
}

impl TranslationCache {
    pub fn new(dialect: Dialect, capacity: usize) -> Self {
        TranslationCache {
            dialect,
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("capacity is at least 1"),
            )),
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Returns the cached translation, translating (outside the lock) on a miss.
    pub fn get(&self, sql: &str) -> Result<Arc<Translation>, TranslateError> {
        let metrics = crate::observability::metrics::Metrics::install();
        if let Some(t) = self.entries.lock().expect("cache lock").get(sql) {
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
        self.entries
            .lock()
            .expect("cache lock")
            .put(sql.into(), t.clone());
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
}
