"""What every driver is (the ``Driver`` protocol) and the one way drivers
turn a backend's exceptions into ``WorkerError``."""

from typing import Any, Callable, List, Optional, Protocol, Tuple

from ..protocol import WorkerError
from ..schema_reader import SchemaReader

# One result column as the ``D`` frame carries it:
# (name, type_name, type_code, precision, scale, nullable).
Column = Tuple[str, str, int, int, int, int]
# One placeholder as the ``T`` frame carries it: (type_name, type_code).
Param = Tuple[str, int]
# fetch(n): up to n row tuples; fewer means the rows are exhausted.
Fetch = Callable[[int], List[Tuple[Any, ...]]]


class Driver(Protocol):
    """One backend session. Backend failures surface as ``WorkerError``."""

    name: str
    server_version: str
    # Interrupts the running statement; safe to call from another thread.
    # None when the backend cannot be interrupted.
    cancel: Optional[Callable[[], None]]

    def execute(self, sql: str, params: Tuple[Any, ...],
                describe: bool) -> Tuple[Optional[Tuple[Column, ...]], Optional[Fetch]]:
        """Run one statement: ``(None, None)`` when it returns no rows, else
        its columns and the ``fetch`` that reads them. With ``describe`` the
        columns carry declared types where the backend can tell."""

    def execute_many(self, sql: str, rows: List[Tuple[Any, ...]]) -> int:
        """Run one statement that returns no rows once per parameter tuple,
        in order, stopping at the first failure; return the rows changed.
        The failure's ``WorkerError`` has ``row`` set to the index of the
        tuple that failed when the backend can tell. Opens no transaction of
        its own: the caller runs it inside one."""

    def rowcount(self) -> int:
        """Rows changed by the last statement, once its rows are read; -1 when not applicable."""

    def in_transaction(self) -> bool:
        """Whether a transaction is open on the backend."""

    def prepare(self, sql: str) -> Tuple[Optional[Tuple[Column, ...]], Optional[Tuple[Param, ...]]]:
        """Describe a statement without running it: ``(columns, params)``,
        each None when the backend cannot tell."""

    def reset(self) -> None:
        """Drop what the session left behind before the worker changes hands
        (temporary tables, process-private state); the transaction is
        already rolled back."""

    def schema_reader(self) -> "SchemaReader":
        """The reader of this session's schema metadata, for the catalog."""

    def close(self) -> None:
        """Roll back what is open and end the session."""


class backend_errors:  # noqa: N801  (used as a statement, like contextlib.suppress)
    """``with backend_errors(to_worker_error):``: an exception raised inside
    leaves as ``to_worker_error(exc)``, chained to it; a ``WorkerError``
    (already mapped) passes unchanged."""

    __slots__ = ("_to_worker_error",)

    def __init__(self, to_worker_error: Callable[[Exception], WorkerError]):
        self._to_worker_error = to_worker_error

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc is None or isinstance(exc, WorkerError) or not isinstance(exc, Exception):
            return False
        raise self._to_worker_error(exc) from exc
