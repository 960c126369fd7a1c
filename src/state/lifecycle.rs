//! The server's life cycle, shared by every task: the phase every
//! connection watches (running, draining, closing), the admin console's
//! PAUSE, and shutdown requests from the console.
//!
//! A leaf: it knows nothing of connections. Moving to `Closing` also
//! interrupts running statements, which needs the client registry, so that
//! step is [`crate::state::Shared::set_phase`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, watch};

use crate::config::Overrides;

/// Server life cycle, broadcast to every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// Idle sessions are told 57P01 and closed; running ones may finish.
    Draining,
    /// The shutdown deadline passed: running statements are cancelled and
    /// every connection closed.
    Closing,
}

/// Phase, pause and shutdown requests.
pub struct Lifecycle {
    phase: watch::Sender<Phase>,
    /// PAUSE: statements wait at their start until RESUME.
    paused: AtomicBool,
    resumed: Notify,
    shutdown: Notify,
    shutdown_requested: AtomicBool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            phase: watch::Sender::new(Phase::Running),
            paused: AtomicBool::new(false),
            resumed: Notify::new(),
            shutdown: Notify::new(),
            shutdown_requested: AtomicBool::new(false),
        }
    }
}

impl Lifecycle {
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// A receiver that sees every phase change.
    pub fn subscribe(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
        if !paused {
            self.resumed.notify_waiters();
        }
    }

    /// Waits while the server is paused (a no-op otherwise).
    pub async fn wait_unpaused(&self) {
        loop {
            let resumed = self.resumed.notified();
            tokio::pin!(resumed);
            // Registered before the check, so a RESUME in between is not lost.
            resumed.as_mut().enable();
            if !self.is_paused() {
                return;
            }
            resumed.await;
        }
    }

    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn request_shutdown(&self) {
        self.shutdown_requested.store(true, Ordering::Release);
        self.shutdown.notify_waiters();
    }

    pub async fn shutdown_requested(&self) {
        loop {
            let n = self.shutdown.notified();
            if self.shutdown_requested.load(Ordering::Acquire) {
                return;
            }
            n.await;
        }
    }
}

/// Where the configuration came from, so a reload reads the same places.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    pub file: Option<PathBuf>,
    pub overrides: Overrides,
}
