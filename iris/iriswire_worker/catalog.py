"""PostgreSQL's pg_catalog and information_schema over the backend's real
schema, the same whatever the backend.

Neither IRIS nor SQLite has PostgreSQL's catalog, yet psql's describe
commands, drivers' metadata calls and type lookups read it. Every worker
keeps an in-memory SQLite database with PostgreSQL's column sets
(``catalog_tables``): the built-in types, roles, settings and extensions
are fixed rows; relations, columns, indexes, constraints and defaults come
from the backend's own metadata through a ``SchemaReader``
(``schema_sqlite``, ``schema_iris``) and are rebuilt (``catalog_build``)
when the schema changes: after this worker ran DDL, and whenever the
reader's cheap version token (SQLite's schema_version; IRIS's class
dictionary) differs from the one the catalog was built at, which catches
other workers' DDL. Statements are recognised by ``_CATALOG_SQL`` (the
front end's ``CATALOG_SQL`` is the same pattern, and passes them on
untranslated), rewritten into SQLite (``catalog_sql``) and answered here,
with PostgreSQL's catalog functions registered (``catalog_functions``).
"""

import os
import re
import time

from . import catalog_functions
from .catalog_build import Built, build
from .catalog_sql import rewrite
from .catalog_tables import (
    BOOTSTRAP_SUPERUSER, CATALOG_RELATION_OIDS, DATABASE_OID, DESCRIPTIONS, INFORMATION_SCHEMA,
    PG_CATALOG, PG_CATALOG_VIEWS, SETTINGS, STATIC_ROWS)
from .catalog_types import PG_CATALOG_NAMESPACE, builtin_type_rows, lookup_type, range_rows
from .lock_wait import LockWait
from .sandbox import Sandbox
from .drivers.sqlite import SqliteDriver
from .sql_text import ScannedSql
from .sqlite_errors import fail, sqlite3_module

# The relations and functions of PostgreSQL's catalog. The front end's
# CATALOG_SQL (src/translate) is this same pattern: both sides must agree on
# which statements are catalog statements. Relations are named one by one
# (a user table called pg_typeahead is not the catalog's), functions by the
# families psql and drivers call; ::regclass-style casts and to_regtype()
# look names up in the catalog.
_CATALOG_SQL = re.compile(
    r"(?i)\b(?:pg_catalog|information_schema)\s*\.|\bpg_(?:aggregate|am|amop|amproc|attrdef"
    r"|attribute|auth_members|authid|available_extensions|available_extension_versions|cast"
    r"|class|collation|constraint|conversion|cursors|database|db_role_setting|default_acl"
    r"|depend|description|enum|event_trigger|extension|file_settings|foreign_data_wrapper"
    r"|foreign_server|foreign_table|group|hba_file_rules|index|indexes|inherits|init_privs"
    r"|language|largeobject|largeobject_metadata|locks|matviews|namespace|opclass|operator"
    r"|opfamily|partitioned_table|policies|policy|prepared_statements|prepared_xacts|proc"
    r"|publication|publication_namespace|publication_rel|publication_tables|range"
    r"|replication_slots|rewrite|roles|rules|seclabel|seclabels|sequence|sequences|settings"
    r"|shadow|shdepend|shdescription|shseclabel|stat_\w+|statio_\w+|statistic|statistic_ext"
    r"|statistic_ext_data|stats|stats_ext|subscription|subscription_rel|tables|tablespace"
    r"|timezone_abbrevs|timezone_names|transform|trigger|ts_config|ts_config_map|ts_dict"
    r"|ts_parser|ts_template|type|user|user_mapping|user_mappings|views)\b"
    r"|\b(?:format_type|pg_get_\w+|pg_\w+_is_visible|has_\w+_privilege|obj_description"
    r"|col_description|shobj_description|pg_encoding_to_char|current_schemas?|to_regtype"
    r"|to_regclass|pg_relation_size|pg_total_relation_size|pg_table_size|pg_indexes_size"
    r"|pg_size_pretty|pg_database_size|pg_tablespace_location|pg_has_role|pg_partition_\w+|_pg_expandarray)\s*\("
    r"|::\s*(?:regtype|regclass|regproc|regprocedure|regnamespace|regrole|regoper|regoperator)\b")

# Without a version token from the backend, the catalog is rebuilt when it is older than this.
UNVERSIONED_TTL_S = 1.0
_DDL = re.compile(r"\s*(?:--[^\n]*\n\s*)*(CREATE|ALTER|DROP|RENAME|COMMENT)\b", re.IGNORECASE)
# Rebuilt on each refresh; the other tables hold fixed rows.
_SCHEMA_TABLES = ("pg_namespace", "pg_class", "pg_attribute", "pg_index", "pg_constraint",
                  "pg_attrdef", "pg_description")
_FIRST_FUNCTION_OID = 9000


def is_ddl(sql):
    """Whether a statement may change the schema (its first keyword)."""
    return _DDL.match(sql) is not None


def session_names(config, driver):
    """What the session functions answer: user, database, version()."""
    backend = ("SQLite %s" % sqlite3_module().sqlite_version if driver.name == "sqlite"
               else "InterSystems IRIS %s" % driver.server_version)
    return {
        "user": config.get("user") or config.get("username") or "postgres",
        "database": config.get("database_name") or str(config.get("namespace") or "postgres").lower(),
        "version": "PostgreSQL %s (iriswire %s, %s)" % (
            config.get("pg_version", "16.6"), config.get("iriswire_version", "?"), backend),
        "pg_version": config.get("pg_version", "16.6"),
    }


class Catalog:
    """The in-memory pg_catalog of one worker, over its backend's schema."""

    def __init__(self, reader=None, session=None):
        sqlite3 = sqlite3_module()
        self._reader = reader
        self.session = session or {"user": "postgres", "database": "postgres",
                                   "version": "PostgreSQL 16.6", "pg_version": "16.6"}
        self.started = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
        self._conn = conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute("ATTACH DATABASE ':memory:' AS information_schema")
        for name, columns in PG_CATALOG.items():
            conn.execute("CREATE TABLE %s (%s)" % (name, columns))
        for name, columns in INFORMATION_SCHEMA.items():
            conn.execute("CREATE TABLE information_schema.%s (%s)" % (name, columns))
        for name, select in PG_CATALOG_VIEWS.items():
            conn.execute("CREATE VIEW %s AS %s" % (name, select))
        self.settings = self._settings()
        functions = catalog_functions.register(conn, self)
        self._fixed_relations, self._fixed_rows = self._catalog_relations()
        self._function_rows = self._functions(functions)
        self._fill_fixed()
        self.built = Built()
        self._descriptions = {}
        self._version = None
        self._built_at = None
        self._stale = True
        self._rewrites = {}
        self.driver = CatalogDriver(conn, self)

    # --- what is answered -------------------------------------------------------------

    @staticmethod
    def handles(sql):
        return _CATALOG_SQL.search(sql) is not None

    def translate(self, sql):
        """`sql` rewritten for the catalog (cached by text; the cache is bounded)."""
        rewritten = self._rewrites.get(sql)
        if rewritten is None:
            rewritten = rewrite(sql)
            if len(self._rewrites) >= 512:
                self._rewrites.clear()
            self._rewrites[sql] = rewritten
            self._rewrites[rewritten.sql] = rewritten
        return rewritten.sql

    def column_types(self, sql):
        rewritten = self._rewrites.get(sql)
        return rewritten.column_types if rewritten is not None else None

    def typing_sql(self, sql):
        rewritten = self._rewrites.get(sql)
        return rewritten.typing_sql if rewritten is not None else None

    # --- keeping up with the backend's schema -------------------------------------------

    def invalidate(self):
        """The worker ran DDL: rebuild before the next catalog statement."""
        self._stale = True

    def refresh(self):
        """Rebuild from the backend's schema if it changed since the last build."""
        if self._reader is None:
            return
        version = self._reader.version()
        if not self._stale and self._built_at is not None:
            if version is not None and version == self._version:
                return
            if version is None and time.monotonic() - self._built_at < UNVERSIONED_TTL_S:
                return
        built = build(self._reader.read(), self.session["database"], BOOTSTRAP_SUPERUSER)
        built.relations.update(self._fixed_relations)
        conn = self._conn
        conn.execute("BEGIN")
        try:
            for table in _SCHEMA_TABLES:
                conn.execute("DELETE FROM %s" % table)
            for table in INFORMATION_SCHEMA:
                conn.execute("DELETE FROM information_schema.%s" % table)
            for table, rows in list(built.rows.items()) + list(self._fixed_rows.items()):
                if rows:
                    schema = "information_schema." if table in INFORMATION_SCHEMA else ""
                    conn.executemany("INSERT INTO %s%s VALUES (%s)" % (
                        schema, table, ",".join("?" * len(rows[0]))), rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._descriptions = {(row[0], row[1], row[2]): row[3]
                              for row in list(built.rows.get("pg_description", ())) + DESCRIPTIONS}
        self.built, self._version, self._built_at, self._stale = built, version, time.monotonic(), False

    # --- fixed contents -----------------------------------------------------------------

    def _settings(self):
        version = self.session.get("pg_version", "16.6")
        major, _, minor = version.partition(".")
        settings = dict(SETTINGS)
        settings["server_version"] = version
        settings["server_version_num"] = "%d%04d" % (int(major), int(minor or 0))
        return settings

    def setting(self, name, missing_ok):
        """current_setting(name): 42704 for an unknown name unless missing_ok."""
        for key, value in self.settings.items():
            if key.lower() == str(name).lower():
                return value
        if missing_ok:
            return None
        fail("42704", 'unrecognized configuration parameter "%s"' % name)

    def description(self, objoid, classoid, objsubid):
        """obj_description/col_description: classoid by OID or catalog name."""
        if isinstance(classoid, str):
            classoid = CATALOG_RELATION_OIDS.get(classoid.split(".")[-1])
        for (oid, klass, sub), text in self._descriptions.items():
            if oid == objoid and sub == (objsubid or 0) and (classoid is None or klass == classoid):
                return text
        return None

    def backend_pid(self):
        return os.getpid()

    def _catalog_relations(self):
        """pg_class and pg_attribute rows for the catalog's own relations."""
        relations = {}
        classes, attributes = [], []
        for name, oid in CATALOG_RELATION_OIDS.items():
            info = self._conn.execute("PRAGMA table_info(%s)" % name).fetchall()
            if not info:
                continue
            relations[oid] = ("pg_catalog", name)
            kind = "v" if name in PG_CATALOG_VIEWS else "r"
            classes.append((oid, name, PG_CATALOG_NAMESPACE, 0, 0, BOOTSTRAP_SUPERUSER,
                            2 if kind == "r" else 0, 0, 0, 0, -1, 0, 0, 0, 0, "p", kind, len(info),
                            0, 0, 0, 0, 0, 0, 1, "n", 0, 0, "0", "0", None, None, None))
            for cid, column, declared, *_ in info:
                first = declared.split(" ")[0]
                type_oid = 18 if first == "pg_char" else lookup_type(first) or 25
                attributes.append((oid, column, type_oid, -1, -1, cid + 1, 0, -1, -1, 0, "i", "p",
                                   "", 1, 0, 0, "", "", 0, 1, 0, 0, None, None, None, None))
        return relations, {"pg_class": classes, "pg_attribute": attributes,
                           "pg_description": list(DESCRIPTIONS)}

    def _functions(self, functions):
        rows = []
        seen = set()
        for name, arity in functions:
            if name.startswith("iriswire_") or (name, arity) in seen:
                continue
            seen.add((name, arity))
            nargs = max(arity, 0)
            rows.append((_FIRST_FUNCTION_OID + len(rows), name, PG_CATALOG_NAMESPACE,
                         BOOTSTRAP_SUPERUSER, 12, 1, 0, 0, "-", "f", 0, 0, 1, 0, "s", "s", nargs, 0,
                         25, " ".join(["2276"] * nargs), None, None, None, None, None, name, None,
                         None, None, None))
        return rows

    def function_name(self, oid):
        for row in self._function_rows:
            if row[0] == oid:
                return row[1]
        return None if oid is None else str(oid) if oid else "-"

    def function_result(self, oid):
        return "text" if any(row[0] == oid for row in self._function_rows) else None

    def function_arguments(self, oid):
        for row in self._function_rows:
            if row[0] == oid:
                return ", ".join(['"any"'] * row[16])
        return None

    def namespace_name(self, oid):
        for name, namespace in self.built.namespaces.items():
            if namespace == oid:
                return name
        return {11: "pg_catalog", 2200: "public"}.get(oid, None if oid is None else str(oid))

    def _fill_fixed(self):
        conn = self._conn
        session = self.session
        fixed = dict(STATIC_ROWS)
        fixed["pg_type"] = builtin_type_rows()
        fixed["pg_range"] = range_rows()
        fixed["pg_proc"] = self._function_rows
        fixed["pg_shdescription"] = [(DATABASE_OID, 1262, "iriswire database")]
        fixed["pg_authid"] = [(BOOTSTRAP_SUPERUSER, session["user"], 1, 1, 1, 1, 1, 1, 1, -1,
                               None, None)]
        fixed["pg_database"] = [(DATABASE_OID, session["database"], BOOTSTRAP_SUPERUSER, 6, "c",
                                 0, 1, -1, "0", "1", 1663, "C", "C", None, None, None, None)]
        fixed["pg_settings"] = [(name, value, None, "iriswire", "", None, "user", "string",
                                 "default", None, None, None, value, value, None, None, 0)
                                for name, value in self.settings.items()]
        for table, rows in fixed.items():
            if rows:
                conn.executemany("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * len(rows[0]))),
                                 rows)


class CatalogDriver(SqliteDriver):
    """The sqlite driver's machinery (errors, declared types, Describe by
    EXPLAIN and a temporary view) on the catalog's connection, with the
    rewriter's types for result columns SQLite cannot type (booleans)."""

    def __init__(self, conn, catalog):  # pylint: disable=super-init-not-called
        self._conn = conn
        self._cursor = conn.cursor()
        self._total_changes = 0
        self._catalog = catalog
        self.cancel = conn.interrupt
        self.server_version = sqlite3_module().sqlite_version
        # A private in-memory database: no other connection holds its locks.
        self._locks = LockWait(lambda _ms: None, 0)
        self._error_class = sqlite3_module().OperationalError
        # Clients' SQL runs here too (a statement is routed here by the
        # words it contains, comments included), so the same sandbox.
        self._sandbox = Sandbox()
        conn.set_authorizer(self._sandbox.authorize)

    def _typed(self, sql, columns):
        if not columns:
            return columns
        types = self._catalog.column_types(sql)
        typing_sql = self._catalog.typing_sql(sql)
        if typing_sql is not None and any(not c[1] for c in columns):
            declared = self._view_columns(ScannedSql(typing_sql)) or ()
            if len(declared) == len(columns):
                columns = tuple(c if c[1] else (c[0], d[1]) + tuple(c[2:])
                                for c, d in zip(columns, declared))
        if not types or len(types) != len(columns):
            return columns
        return tuple((c[0], t or c[1]) + tuple(c[2:]) if not c[1] else c
                     for c, t in zip(columns, types))

    def execute(self, sql, params, describe):
        columns, fetch = SqliteDriver.execute(self, sql, params, describe)
        types = self._catalog.column_types(sql) or ()
        booleans = [i for i, t in enumerate(types) if t == "_bool"]
        if booleans and fetch is not None:
            fetch = _boolean_arrays(fetch, booleans)
        return self._typed(sql, columns), fetch

    def prepare(self, sql):
        columns, params = SqliteDriver.prepare(self, sql)
        return self._typed(sql, columns), params


def _boolean_arrays(fetch, indexes):
    """`fetch` with the boolean arrays at `indexes` printed as PostgreSQL
    prints them ({t,f}); SQLite's booleans are 1 and 0."""
    def converted(count):
        rows = fetch(count)
        out = []
        for row in rows:
            row = list(row)
            for i in indexes:
                if isinstance(row[i], str):
                    row[i] = catalog_functions.array_text(
                        catalog_functions.array_elements(row[i]), boolean=True)
            out.append(tuple(row))
        return out
    return converted
