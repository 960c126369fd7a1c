//! The session's bridge worker: taken from the pool when a statement needs
//! one, given back when the pool mode allows.

use pgwire::error::PgWireResult;

use crate::config::PoolMode;
use crate::frontend::errors::acquire_failure;
use crate::frontend::session::Session;
use crate::state::Shared;

/// Ensures the session holds a worker free for a new statement: checked
/// out of its pool, or, when a cursor's statement still runs on it, freed
/// by reading the rest of that cursor's rows into memory.
pub async fn ensure_worker(shared: &Shared, s: &mut Session) -> PgWireResult<()> {
    if s.worker.is_some() && s.cursors.is_streaming() {
        let r = s.cursors.release_worker(s.worker.as_deref_mut()).await;
        if s.worker.as_mut().is_some_and(|w| !w.is_healthy()) {
            s.release_worker();
        }
        r?;
    }
    if s.worker.is_none() {
        if let Some(c) = &s.client {
            c.set_state(crate::state::clients::ClientState::Waiting);
        }
        let started = std::time::Instant::now();
        let got = shared.pools.acquire(&s.database, &s.user).await;
        if let Some(st) = &s.stats {
            st.waited(started.elapsed());
        }
        if let Some(c) = &s.client {
            c.set_state(crate::state::clients::ClientState::Active);
        }
        let w = got.map_err(|e| acquire_failure(&e))?;
        if let Some(c) = &s.client {
            c.worker_pid
                .store(w.pid(), std::sync::atomic::Ordering::Relaxed);
        }
        s.worker = Some(w);
    }
    if let Some(w) = s.worker.as_deref_mut() {
        w.set_lock_wait(s.lock_wait_ms);
    }
    Ok(())
}

/// In transaction pooling, hands the worker back once no transaction is open.
pub fn release_if_idle(shared: &Shared, s: &mut Session) {
    if shared.config().pool.mode == PoolMode::Transaction
        && s.active.is_none()
        && !s.cursors.is_streaming()
        && s.worker
            .as_ref()
            .is_some_and(|w| !w.in_transaction && !w.is_busy())
    {
        s.release_worker();
    }
}
