//! Supervising a running statement: the statement timeout, CancelRequests
//! and the drain's deadline interrupt the worker (SIGINT, then SIGKILL after
//! `server.cancel_grace_ms`).

use std::sync::Arc;
use std::time::Duration;

use crate::frontend::errors::QUERY_CANCELED;
use crate::frontend::errors::error;
use crate::frontend::stream::StreamEnd;
use crate::state::clients::{Client, InterruptReason};
use crate::telemetry::Metrics;

/// Runs `work`, a statement running on the worker `worker_pid`, under the
/// session's statement timeout and the connection's cancel requests.
///
/// `work` is never dropped half-way (its reads of the worker's pipe are not
/// cancel-safe): an interrupt signals the worker and keeps polling `work`.
/// The worker gets SIGINT, which its cancel thread turns into the driver's
/// interrupt; if it has not answered within `grace`, it gets SIGKILL, so
/// `work` ends with the worker gone and the pool replaces it, without
/// touching other sessions. Returns why the statement was interrupted, if
/// it was.
pub async fn supervised<T>(
    client: Option<&Arc<Client>>,
    worker_pid: u32,
    timeout: Duration,
    grace: Duration,
    work: impl std::future::Future<Output = T>,
) -> (T, InterruptReason) {
    let Some(client) = client else {
        return (work.await, InterruptReason::None);
    };
    let notified = client.interrupt.notified();
    tokio::pin!(notified);
    // Registered before the statement is marked running: a cancel that
    // sees it running always wakes this task.
    notified.as_mut().enable();
    let _running = client.start_statement();
    tokio::pin!(work);
    let deadline = async {
        if timeout.is_zero() {
            std::future::pending::<()>().await
        } else {
            tokio::time::sleep(timeout).await
        }
    };
    tokio::select! {
        out = &mut work => return (out, client.interrupt_reason()),
        _ = &mut notified => {}
        _ = deadline => {
            client.request_interrupt(InterruptReason::StatementTimeout);
        }
    }
    signal_worker(worker_pid, libc::SIGINT);
    tokio::select! {
        out = &mut work => return (out, client.interrupt_reason()),
        _ = tokio::time::sleep(grace) => {}
    }
    tracing::warn!(
        worker_pid,
        reason = ?client.interrupt_reason(),
        "bridge worker did not stop its statement in time; killing it"
    );
    Metrics::install().worker_exits_timeout.increment(1);
    crate::bridge::worker::mark_killed(worker_pid);
    signal_worker(worker_pid, libc::SIGKILL);
    (work.await, client.interrupt_reason())
}

fn signal_worker(pid: u32, signal: libc::c_int) {
    if pid > 1 {
        // SAFETY: kill(2) on our own child. The worker object is borrowed by
        // the running statement, so the child cannot have been reaped and
        // its pid reused.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
    }
}

/// A statement that failed because it was interrupted reports why, as
/// PostgreSQL does (57014), whatever the worker said.
pub fn interrupted(end: StreamEnd, reason: InterruptReason) -> StreamEnd {
    match (end, reason) {
        (end, InterruptReason::None) => end,
        (StreamEnd::Failed(_), reason) => {
            if reason == InterruptReason::StatementTimeout {
                Metrics::install().statement_timeouts.increment(1);
            }
            StreamEnd::Failed(error(QUERY_CANCELED, reason.message()))
        }
        (end, _) => end,
    }
}
