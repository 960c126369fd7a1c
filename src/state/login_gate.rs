//! The cap on connections still logging in.
//!
//! A socket that connects and then says nothing holds a file descriptor and
//! a task until the login timeout. Enough of them exhaust the descriptor
//! limit and lock every real client out, the admin console included. So the
//! number of pending logins is capped, and when the cap is reached the
//! *oldest* pending login is closed to admit the new one: a real client
//! finishes its start-up in milliseconds, so the oldest pending socket is
//! the likeliest to be one that never will.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Every login in progress, oldest first (ids only grow).
#[derive(Default)]
pub struct LoginGate {
    pending: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

impl LoginGate {
    /// Registers connection `id` as logging in, first closing the oldest
    /// pending logins while `max` are already pending.
    pub fn admit(self: &Arc<Self>, id: u64, max: usize) -> PendingLogin {
        let evicted = Arc::new(Notify::new());
        let mut pending = self.pending.lock().expect("login gate lock");
        while pending.len() >= max.max(1) {
            let Some((_, oldest)) = pending.pop_first() else {
                break;
            };
            // notify_one keeps a permit, so the wake-up is not lost if the
            // connection is not waiting at this instant.
            oldest.notify_one();
        }
        pending.insert(id, evicted.clone());
        PendingLogin {
            gate: self.clone(),
            id,
            evicted,
        }
    }

    /// Logins in progress.
    pub fn pending(&self) -> usize {
        self.pending.lock().expect("login gate lock").len()
    }
}

/// One connection's place among the pending logins; leaves it when dropped.
pub struct PendingLogin {
    gate: Arc<LoginGate>,
    id: u64,
    evicted: Arc<Notify>,
}

impl PendingLogin {
    /// Resolves when a newer connection needed this one's place.
    pub async fn evicted(&self) {
        self.evicted.notified().await
    }
}

impl Drop for PendingLogin {
    fn drop(&mut self) {
        self.gate
            .pending
            .lock()
            .expect("login gate lock")
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_oldest_pending_login_makes_room_for_a_new_one() {
        let gate = Arc::new(LoginGate::default());
        let first = gate.admit(1, 2);
        let second = gate.admit(2, 2);
        assert_eq!(gate.pending(), 2);
        let third = gate.admit(3, 2);
        assert_eq!(gate.pending(), 2);
        tokio::time::timeout(Duration::from_secs(1), first.evicted())
            .await
            .expect("the oldest is told to close");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), second.evicted())
                .await
                .is_err(),
            "younger logins keep their place"
        );
        drop(third);
        assert_eq!(gate.pending(), 1);
        drop(first);
        drop(second);
        assert_eq!(gate.pending(), 0);
    }
}
