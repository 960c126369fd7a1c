//! The circuit breaker over worker starts.
//!
//! When the backend is down, every worker start fails only after its start
//! timeout. Without a breaker each new session would wait that long to learn
//! the same thing. Instead, worker starts failing in a row *open* the
//! circuit: for a backoff that doubles from `bridge.retry_initial_ms` up to
//! `bridge.retry_max_ms`, sessions get 08001 at once, and one background
//! attempt per backoff (see the registry) finds out when the backend is back.
//!
//! The states, as [`Circuit::state`] reports them:
//!
//! ```text
//!            failure                 backoff passes
//!   Closed ──────────▶ Open(backoff) ──────────────▶ HalfOpen
//!     ▲                    ▲                            │
//!     │                    └──── failure: backoff × 2 ──┤
//!     └──────────────────────── success ────────────────┘
//! ```
//!
//! [`Circuit`] is that state machine alone: it takes the time as an
//! argument, so its transitions are tested without sleeping. [`Breaker`]
//! is the shared, locked copy the pools use, which also logs the
//! transitions and keeps the `backend_circuit_open` gauge.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;

use super::AcquireError;

/// Where a [`Circuit`] stands at a given instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CircuitState {
    /// No failed start since the last success: starts go ahead.
    Closed,
    /// Starts are refused for `retry_in` more, because of `reason`.
    Open { reason: String, retry_in: Duration },
    /// The backoff has run out after failures: starts go ahead again; the
    /// next success closes the circuit, the next failure reopens it.
    HalfOpen,
}

/// The breaker's state machine: consecutive failures and the backoff they
/// have earned.
#[derive(Debug, Default)]
pub(crate) struct Circuit {
    failures: u32,
    backoff: Duration,
    open_until: Option<Instant>,
    reason: String,
}

impl Circuit {
    pub(crate) fn state(&self, now: Instant) -> CircuitState {
        match self.open_until {
            Some(until) if until > now => CircuitState::Open {
                reason: self.reason.clone(),
                retry_in: until.saturating_duration_since(now),
            },
            _ if self.failures > 0 => CircuitState::HalfOpen,
            _ => CircuitState::Closed,
        }
    }

    /// Records a failed start at `now` and opens the circuit: for `initial`
    /// after the first failure in a row, then twice the previous backoff,
    /// at most `max`. Returns the backoff now in force.
    pub(crate) fn failure(
        &mut self,
        reason: String,
        now: Instant,
        initial: Duration,
        max: Duration,
    ) -> Duration {
        self.failures += 1;
        self.backoff = if self.failures == 1 {
            initial
        } else {
            (self.backoff * 2).min(max)
        };
        self.open_until = Some(now + self.backoff);
        self.reason = reason;
        self.backoff
    }

    /// Records a successful start and closes the circuit. Returns how many
    /// failures in a row it ends, if any.
    pub(crate) fn success(&mut self) -> Option<u32> {
        let failures = self.failures;
        *self = Circuit::default();
        (failures > 0).then_some(failures)
    }
}

/// The circuit shared by all pools, plus the flag that keeps at most one
/// background retry waiting.
#[derive(Default)]
pub(crate) struct Breaker {
    circuit: Mutex<Circuit>,
    retry_scheduled: AtomicBool,
}

impl Breaker {
    /// Fails with [`AcquireError::Unavailable`] while the circuit is open.
    pub(crate) fn check(&self) -> Result<(), AcquireError> {
        let circuit = self.circuit.lock().expect("breaker lock");
        match circuit.state(Instant::now()) {
            CircuitState::Open { reason, retry_in } => Err(AcquireError::Unavailable {
                reason,
                retry_in_ms: retry_in.as_millis() as u64,
            }),
            CircuitState::Closed | CircuitState::HalfOpen => Ok(()),
        }
    }

    /// Records a failed start; returns the backoff now in force.
    pub(crate) fn failure(&self, reason: String, cfg: &Config) -> Duration {
        let mut circuit = self.circuit.lock().expect("breaker lock");
        let backoff = circuit.failure(
            reason,
            Instant::now(),
            cfg.bridge.retry_initial,
            cfg.bridge.retry_max,
        );
        crate::telemetry::Metrics::install()
            .backend_circuit_open
            .set(1.0);
        tracing::warn!(
            failures = circuit.failures,
            retry_in_ms = backoff.as_millis() as u64,
            reason = %circuit.reason,
            "bridge workers cannot start; holding new starts back"
        );
        backoff
    }

    /// Records a successful start, closing the circuit if it was not.
    pub(crate) fn success(&self) {
        let mut circuit = self.circuit.lock().expect("breaker lock");
        if let Some(after_failures) = circuit.success() {
            tracing::info!(
                after_failures,
                "bridge workers start again; backend available"
            );
            crate::telemetry::Metrics::install()
                .backend_circuit_open
                .set(0.0);
        }
    }

    /// Claims the one background retry slot; false if a retry is already
    /// waiting.
    pub(crate) fn claim_retry(&self) -> bool {
        !self.retry_scheduled.swap(true, Ordering::AcqRel)
    }

    /// Frees the retry slot as the retry begins, so a failure of it can
    /// schedule the next one.
    pub(crate) fn retry_started(&self) {
        self.retry_scheduled.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INITIAL: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_millis(1000);

    fn fail(c: &mut Circuit, now: Instant) -> Duration {
        c.failure("backend down".into(), now, INITIAL, MAX)
    }

    fn open(retry_in: Duration) -> CircuitState {
        CircuitState::Open {
            reason: "backend down".into(),
            retry_in,
        }
    }

    #[test]
    fn starts_closed() {
        assert_eq!(
            Circuit::default().state(Instant::now()),
            CircuitState::Closed
        );
    }

    #[test]
    fn a_failure_opens_for_the_initial_backoff_then_half_opens() {
        let t0 = Instant::now();
        let mut c = Circuit::default();
        assert_eq!(fail(&mut c, t0), INITIAL);
        assert_eq!(c.state(t0), open(INITIAL));
        let later = Duration::from_millis(100);
        assert_eq!(c.state(t0 + later), open(INITIAL - later));
        // Open strictly before the deadline; at it, starts are tried again.
        assert_eq!(c.state(t0 + INITIAL), CircuitState::HalfOpen);
        assert_eq!(c.state(t0 + MAX * 10), CircuitState::HalfOpen);
    }

    #[test]
    fn failures_in_a_row_double_the_backoff_up_to_the_maximum() {
        let mut now = Instant::now();
        let mut c = Circuit::default();
        let mut backoffs = Vec::new();
        for _ in 0..5 {
            let b = fail(&mut c, now);
            backoffs.push(b.as_millis());
            assert_eq!(c.state(now), open(b));
            now += b;
            assert_eq!(c.state(now), CircuitState::HalfOpen);
        }
        assert_eq!(backoffs, [250, 500, 1000, 1000, 1000]);
    }

    #[test]
    fn the_latest_reason_is_reported() {
        let t0 = Instant::now();
        let mut c = Circuit::default();
        c.failure("first".into(), t0, INITIAL, MAX);
        c.failure("second".into(), t0, INITIAL, MAX);
        assert!(matches!(c.state(t0), CircuitState::Open { reason, .. } if reason == "second"));
    }

    #[test]
    fn a_success_closes_and_resets_the_backoff() {
        let t0 = Instant::now();
        let mut c = Circuit::default();
        assert_eq!(c.success(), None, "closing a closed circuit is no event");
        fail(&mut c, t0);
        fail(&mut c, t0);
        assert_eq!(c.success(), Some(2));
        assert_eq!(c.state(t0), CircuitState::Closed);
        // The next outage starts again from the initial backoff.
        assert_eq!(fail(&mut c, t0), INITIAL);
    }

    #[test]
    fn a_success_while_open_closes_at_once() {
        let t0 = Instant::now();
        let mut c = Circuit::default();
        fail(&mut c, t0);
        c.success();
        assert_eq!(c.state(t0), CircuitState::Closed);
    }

    #[test]
    fn one_retry_waits_at_a_time() {
        let b = Breaker::default();
        assert!(b.claim_retry());
        assert!(!b.claim_retry());
        b.retry_started();
        assert!(b.claim_retry());
    }
}
