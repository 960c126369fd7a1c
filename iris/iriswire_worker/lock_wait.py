"""Waiting for a SQLite lock as PostgreSQL waits for a row lock.

SQLite's own busy handler cannot serve PostgreSQL's semantics: it sleeps
inside the C call, where ``sqlite3_interrupt`` (our cancel) does not reach
it, and it is not called at all when a read transaction asks to become a
write transaction (``sqlite3BtreeBeginTrans`` invokes it only from no
transaction). So the busy handler only ever sleeps one short slice, and this
loop retries the statement until one of PostgreSQL's three endings:

- the lock is granted (the statement runs, as after a row-lock wait);
- ``lock_timeout`` (or, when that is 0, ``statement_timeout``) passes:
  55P03 ``canceling statement due to lock timeout``;
- a cancel arrives: 57014, as for any cancelled statement.

Retrying is sound because SQLITE_BUSY is returned before the statement
changed anything (its statement journal is rolled back), and the
surrounding transaction, if any, stays open. A stale snapshot
(SQLITE_BUSY_SNAPSHOT) is not retried: it is a serialization failure
(40001), as sqlite_errors.py maps it.

The front end sends the session's effective wait in an ``L`` frame when it
changes (docs/bridge-protocol.md).
"""

import time

from .protocol import WorkerError
from .sqlite_errors import CANCEL_MESSAGE

SQLITE_BUSY = 5
# SQLITE_BUSY_RECOVERY and SQLITE_BUSY_TIMEOUT are waits too; BUSY_SNAPSHOT
# (517) is not: the transaction must restart.
_WAITABLE = {SQLITE_BUSY, 261, 773}

# The busy handler's slice: how late a cancel or a timeout can be noticed.
SLICE_MS = 50
# The pause between two retries that came back at once (the upgrade case,
# where SQLite does not sleep).
_PAUSE_S = 0.005


def is_lock_wait(exc):
    """Whether a sqlite3 error means "locked by another connection, retry"."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code in _WAITABLE
    return str(exc) == "database is locked"  # Python < 3.11 has no error codes


class LockWait:
    """The retry loop around one SQLite connection's statements."""

    def __init__(self, set_busy_timeout, wait_ms):
        self._set_busy_timeout = set_busy_timeout
        self._wait_ms = 0
        self._slice_ms = None
        self.cancelled = False
        self.set_wait(wait_ms)

    def set_wait(self, wait_ms):
        """How long a statement may wait for a lock; 0 waits until cancelled."""
        self._wait_ms = wait_ms
        slice_ms = SLICE_MS if wait_ms == 0 else max(1, min(SLICE_MS, wait_ms))
        if slice_ms != self._slice_ms:
            self._set_busy_timeout(slice_ms)
            self._slice_ms = slice_ms

    def run(self, attempt, sqlite_error_class):
        """``attempt()`` until it gets its lock; see the module doc."""
        self.cancelled = False
        deadline = None
        while True:
            try:
                return attempt()
            except sqlite_error_class as exc:
                if not is_lock_wait(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._wait_ms / 1000.0 if self._wait_ms else float("inf")
                if self.cancelled:
                    raise WorkerError("57014", CANCEL_MESSAGE) from exc
                if now >= deadline:
                    raise WorkerError("55P03", "canceling statement due to lock timeout") from exc
            time.sleep(_PAUSE_S)
