# Stand-in for InterSystems IRIS's `iris` module, used only by iriswire's tests: it is not IRIS.
"""A test double for the slice of the ``iris`` API that the bridge worker (iris/iriswire_worker/) uses.

It copies the shape of two real modules that share the name ``iris``:

* embedded Python (``irispython``): ``iris.cls('%SQL.Statement')._New()``,
  ``_Prepare`` returning a %Status, ``_Metadata.columns`` / ``.parameters``
  with ODBC type codes, ``_Execute`` returning a result with ``_SQLCODE``,
  ``_Message``, ``_ROWCOUNT``, ``_Next()``, ``_GetData(i)``;
  ``iris.system.Process.SetNamespace``; ``iris.tlevel()``/``iris.trollback()``;
  ``iris.cls('%Stream.Object')._Open(oid)`` for stream columns;
* the intersystems-irispython client: ``iris.connect(...)`` (DB-API cursors
  whose errors carry the SQLCODE) and ``iris.createIRIS(conn)`` (Native SDK
  ``classMethodValue`` / ``classMethodObject`` with ``invoke``/``get``).

SQL runs on sqlite3. With IRIS_STANDIN_STRICT=1 (the default) the stand-in
speaks IRIS's dialect: it refuses what IRIS refuses, with IRIS's SQLCODE and
%msg (rules.py, each rule with its source), and gives IRIS's answers where
SQLite's differ (SQLUPPER collation, $TLEVEL, stream OIDs, vectors as
"1,2,3", 7/2 = 3.5, ...; each module's docstring names its sources). IRIS_STANDIN_VERSION (2024.1, 2024.3, 2025.1) picks the release.
With IRIS_STANDIN_STRICT=0 it is the lenient stand-in the IRIS-path tests
were first written against: SQLite's dialect, errors mapped to SQLCODEs.

Errors come back as the SQLCODE and %msg IRIS gives for the same failure
(e.g. SQLCODE -30, "Table 'SQLUSER.X' not found"). NULL and the empty string
follow ObjectScript's convention on the embedded side: "" is NULL, $C(0) is ''.

Environment: IRIS_STANDIN_DB (sqlite file, default in-memory); namespaces
USER and %SYS exist, and those IRIS_STANDIN_NAMESPACES lists (comma-separated,
"*" for any). IRIS_STANDIN_DOWN_FILE: while that file exists,
``connect()`` refuses as a stopped IRIS instance does (for outage tests).
"""

from . import _engine
from ._embedded import Process as _Process
from ._native import DatabaseError, Error, cls, connect, createIRIS

__all__ = ["DatabaseError", "Error", "cls", "connect", "createIRIS", "system", "tlevel", "trollback"]


class system:
    Process = _Process


def tlevel():
    """$TLEVEL: 1 in a transaction, plus one per SAVEPOINT (strict)."""
    return _engine.session.tlevel if _engine._settings.STRICT else (1 if _engine.connection().in_transaction else 0)


def trollback():
    _engine.rollback_all()
