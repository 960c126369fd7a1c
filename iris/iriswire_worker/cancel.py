"""Cancel: SIGINT from the front end interrupts the running statement."""

import signal
import threading

from .protocol import log

class Canceller:
    """Turns SIGINT into driver.cancel() while a request runs; idle SIGINTs are dropped.

    SIGINT is blocked in every thread and consumed by a dedicated thread with
    sigwait(): a Python-level handler would only run once the C call that
    executes the statement returns, which is exactly what a cancel must not
    wait for. The main thread therefore never sees EINTR either.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._cancel = None
        self._running = False

    def install(self):
        """Call first thing in the main thread, before any other thread exists."""
        if not hasattr(signal, "pthread_sigmask"):
            return  # Windows: no SIGINT from another process; the Rust side replaces the worker
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        threading.Thread(target=self._wait, name="iriswire-cancel", daemon=True).start()

    def set_driver(self, driver):
        self._cancel = driver.cancel

    def _wait(self):
        while True:
            signal.sigwait({signal.SIGINT})
            self._fire()

    def _fire(self):
        # Under the lock, a cancel cannot land between two requests.
        with self._lock:
            if not self._running:
                return
            if self._cancel is None:
                log("SIGINT: this driver cannot cancel a running statement")
                return
            self._cancel()

    def __enter__(self):
        with self._lock:
            self._running = True

    def __exit__(self, *exc_info):
        with self._lock:
            self._running = False
