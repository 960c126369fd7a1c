//! What the listener does when `accept` fails.
//!
//! The usual cause is the file-descriptor limit (EMFILE/ENFILE): retrying at
//! once spins a core and writes a log line per attempt while nothing can
//! change until some connection closes. So failures back off exponentially
//! (from 5 ms to 1 s, reset by the next success) and are logged once per
//! interval with the number of failures since the last line.

use std::time::{Duration, Instant};

const FIRST_PAUSE: Duration = Duration::from_millis(5);
const MAX_PAUSE: Duration = Duration::from_secs(1);
const LOG_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct AcceptBackoff {
    pause: Option<Duration>,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl AcceptBackoff {
    /// Records a failure; returns how long to wait before accepting again.
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        let pause = self.pause.map_or(FIRST_PAUSE, |p| (p * 2).min(MAX_PAUSE));
        self.pause = Some(pause);
        self.unlogged += 1;
        let due = self.last_log.is_none_or(|t| t.elapsed() >= LOG_INTERVAL);
        if due {
            tracing::warn!(
                error = %error,
                failures = self.unlogged,
                "accept failed (at the file limit? see server.max_pending_logins); backing off"
            );
            self.last_log = Some(Instant::now());
            self.unlogged = 0;
        }
        pause
    }

    pub fn succeeded(&mut self) {
        self.pause = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_ceiling_and_reset_on_success() {
        let mut b = AcceptBackoff::default();
        let e = std::io::Error::from_raw_os_error(libc::EMFILE);
        let pauses: Vec<_> = (0..12).map(|_| b.failed(&e)).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert_eq!(pauses[1], FIRST_PAUSE * 2);
        assert_eq!(*pauses.last().unwrap(), MAX_PAUSE);
        // Logged once; the other failures wait for the next interval.
        assert_eq!(b.unlogged, 11);
        b.succeeded();
        assert_eq!(b.failed(&e), FIRST_PAUSE);
    }
}
