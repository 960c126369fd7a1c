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
        if let Some(t) = self.entries.lock().expect("cache lock").get(sql) {
            return Ok(t.clone());
        }
        let t = Arc::new(translate(sql, self.dialect)?);
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
