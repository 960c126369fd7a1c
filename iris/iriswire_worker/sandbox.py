"""The SQLite default's sandbox: what a client's SQL may not do.

A client of the embedded default must reach its own database and nothing
else of the server's. SQLite's authorizer sees every statement as it is
compiled, so it refuses, with PostgreSQL's 42501:

- ATTACH and DETACH, and VACUUM INTO (which SQLite authorizes as an ATTACH
  of the target file): they read or write arbitrary paths as the server's
  user;
- load_extension(): native code in the worker;
- every PRAGMA that sets a value, and every PRAGMA outside a read-only list:
  journal mode, synchronous, foreign_keys, writable_schema and the rest are
  the worker's to set, and a setting a client changed would outlive its
  session on a pooled worker.

The worker sets its own pragmas before installing the authorizer.
"""

import sqlite3

# Pragmas that report on the schema: their argument names an object.
SCHEMA_PRAGMAS = frozenset((
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
))
# Settings that may be read but never set.
READABLE_SETTINGS = frozenset((
    "foreign_keys", "schema_version", "user_version", "data_version", "database_list",
    "collation_list", "function_list", "encoding", "page_size", "page_count",
    "freelist_count", "journal_mode", "synchronous", "busy_timeout", "compile_options",
    "application_id",
))


class Sandbox:
    """The authorizer callback, remembering why it last refused."""

    def __init__(self):
        self.refused = None
        self._trusted = False

    def run_trusted(self, conn, sql):
        """Runs one of the worker's own settings statements past the checks."""
        self._trusted = True
        try:
            conn.execute(sql)
        finally:
            self._trusted = False

    def authorize(self, action, arg1, arg2, _database, _trigger):
        if self._trusted:
            return sqlite3.SQLITE_OK
        # Plain VACUUM attaches a nameless temporary database of its own
        # (and ATTACH '' is private memory): no file is reached.
        if action == sqlite3.SQLITE_ATTACH and not arg1:
            return sqlite3.SQLITE_OK
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return self._deny("ATTACH, DETACH and VACUUM INTO are not allowed: "
                              "a session reaches only its own database")
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if not (name in SCHEMA_PRAGMAS or (name in READABLE_SETTINGS and arg2 is None)):
                return self._deny('PRAGMA %s is not allowed: the server sets its own storage '
                                  'settings, and reads only some' % name)
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
            return self._deny("load_extension() is not allowed")
        return sqlite3.SQLITE_OK

    def _deny(self, reason):
        self.refused = reason
        return sqlite3.SQLITE_DENY

    def explain(self, error):
        """Turns SQLite's bare ``not authorized`` into 42501 with the reason."""
        text = (error.detail or "") + (error.message or "")
        if self.refused is not None and ("not authorized" in text or "authorization denied" in text):
            error.sqlstate = "42501"
            error.message = "permission denied: %s" % self.refused
        self.refused = None
