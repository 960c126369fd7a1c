"""iriswire bridge worker: one database session behind a framed pipe protocol.

The Rust front end starts this package (``python3 <this directory>``, or
``irispython`` inside InterSystems IRIS) and talks to it over stdin/stdout
as specified in ``docs/bridge-protocol.md``. Standard library only;
Python >= 3.9.

Drivers, chosen by the ``driver`` key of the start-up configuration (the
``S`` frame):

* ``sqlite``: stdlib sqlite3, with PostgreSQL semantics emulated by the
  ``pg_*`` SQL functions the Rust translator rewrites to;
* ``iris-embedded``: the ``iris`` module of IRIS embedded Python
  (``%SQL.Statement``);
* ``iris-native``: the ``intersystems-irispython`` DB-API client.

Modules, from the wire down:

* ``__main__``: the entry point; loads this directory as the package;
* ``request_loop``: start-up and the request loop;
* ``protocol``: frames, request payloads, ``WorkerError``;
* ``cancel``: SIGINT interrupts the running statement;
* ``catalog``: the in-memory pg_catalog for drivers' type lookups;
* ``drivers``: ``base`` (the ``Driver`` protocol, error mapping),
  ``sqlite``, ``iris_common``, ``iris_embedded``, ``iris_native``;
* ``sql_text``: placeholders, first keyword, declared types;
* ``pg_functions``, ``vector``: PostgreSQL and pgvector semantics as SQLite
  SQL functions;
* ``sqlite_errors``, ``iris_errors``: each backend's errors as SQLSTATEs.
"""
