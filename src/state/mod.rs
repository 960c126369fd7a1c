//! The server's state, shared by every connection and task: the
//! configuration in force, the client registry, the life cycle, the pools
//! and the translation cache.
//!
//! It sits between the parts it holds (config, pool, translate below it)
//! and the parts that use it (frontend, admin, HTTP above it), as
//! mini-redis's `Db` does: nothing here knows about the protocol.

pub(crate) mod clients;
pub(crate) mod lifecycle;
pub(crate) mod limits;
pub(crate) mod login_gate;
pub(crate) mod reload;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::pgtypes::mapping::ColumnType;
use crate::pool::PoolRegistry;
use crate::translate::cache::TranslationCache;

use clients::InterruptReason;
pub use lifecycle::{ConfigSource, Lifecycle, Phase};

/// A table's columns with their PostgreSQL types.
pub type TableColumns = Arc<Vec<(String, ColumnType)>>;

/// State shared by all connections.
pub struct Shared {
    /// Swapped whole by a reload; read with [`Shared::config`].
    pub config: Arc<arc_swap::ArcSwap<Config>>,
    pub clients: Arc<clients::Clients>,
    /// Shutdown requests (signals, the admin console's SHUTDOWN).
    pub lifecycle: Lifecycle,
    /// Where a reload reads the configuration from.
    pub config_source: ConfigSource,
    /// The TLS acceptor in force; a reload replaces it when the
    /// certificate's files change.
    pub(crate) tls: crate::tls::ServerTls,
    pub pools: PoolRegistry,
    pub translations: TranslationCache,
    /// Bumped by any DDL: descriptions cached on translations from an older
    /// epoch are stale.
    pub schema_epoch: AtomicU64,
    /// Column types by (database, table); cleared by any DDL.
    pub table_columns: Mutex<HashMap<(String, String), TableColumns>>,
}

impl Shared {
    /// The configuration now in force (a reload may replace it at any time).
    pub fn config(&self) -> arc_swap::Guard<Arc<Config>> {
        self.config.load()
    }

    pub fn epoch(&self) -> u64 {
        self.schema_epoch.load(Ordering::Acquire)
    }

    /// Moves the whole server to `phase`; at `Closing` every running
    /// statement is interrupted.
    pub fn set_phase(&self, phase: Phase) {
        self.lifecycle.set_phase(phase);
        if phase == Phase::Closing {
            self.clients.interrupt_all(InterruptReason::Shutdown);
        }
    }

    pub fn schema_changed(&self) {
        self.schema_epoch.fetch_add(1, Ordering::AcqRel);
        self.table_columns.lock().expect("catalog cache").clear();
    }
}
