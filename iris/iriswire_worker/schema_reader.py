"""What the catalog knows of a backend's schema, and the one interface every
backend's reader meets (``SchemaReader``).

A reader turns the backend's own metadata (SQLite's sqlite_schema and
pragmas, IRIS's INFORMATION_SCHEMA) into a ``Snapshot``: relations with
their columns, indexes and constraints, in PostgreSQL's terms but with the
backend's names. ``catalog_build`` turns a snapshot into pg_catalog rows.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional, Protocol, Tuple


@dataclass
class Column:
    name: str
    declared: str  # the backend's type name, e.g. "NUMERIC(10,2)" or IRIS's "varchar"
    not_null: bool = False
    default: Optional[str] = None  # SQL text of the default expression
    # IRIS reports sizes apart from the type name.
    length: Optional[int] = None
    precision: Optional[int] = None
    scale: Optional[int] = None
    identity: bool = False  # auto-incrementing (IRIS IDENTITY, SQLite INTEGER PRIMARY KEY)


@dataclass
class Index:
    """An index; ``constraint`` says it backs a PRIMARY KEY or UNIQUE constraint
    (PostgreSQL then has a pg_constraint row of the same name)."""

    name: str
    columns: Tuple[str, ...]
    unique: bool = False
    primary: bool = False
    constraint: bool = False
    descending: Tuple[bool, ...] = ()


@dataclass
class ForeignKey:
    name: Optional[str]  # None: PostgreSQL's default name is used
    columns: Tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: Tuple[str, ...]
    on_update: str = "a"  # pg_constraint's confupdtype: a, r, c, n, d
    on_delete: str = "a"


@dataclass
class Check:
    name: Optional[str]
    expression: str  # SQL text, without the CHECK keyword and parentheses
    column: Optional[str] = None  # a column constraint's column


@dataclass
class Relation:
    schema: str  # as PostgreSQL shows it: `public` for SQLite and IRIS's SQLUser
    name: str
    kind: str = "r"  # pg_class.relkind: r (table) or v (view)
    columns: List[Column] = field(default_factory=list)
    indexes: List[Index] = field(default_factory=list)
    foreign_keys: List[ForeignKey] = field(default_factory=list)
    checks: List[Check] = field(default_factory=list)
    definition: Optional[str] = None  # a view's SELECT
    comment: Optional[str] = None


@dataclass
class Snapshot:
    relations: List[Relation] = field(default_factory=list)
    schemas: Tuple[str, ...] = ("public",)


class SchemaReader(Protocol):
    """One backend's schema metadata, read on the worker's own session."""

    def version(self) -> Any:
        """A cheap token that changes whenever the schema changes (compared
        for equality; None when the backend cannot tell)."""

    def read(self) -> Snapshot:
        """The whole schema: every user table and view with its columns,
        indexes and constraints."""


# confupdtype/confdeltype codes of the referential actions' SQL spellings.
REFERENTIAL_ACTIONS = {
    "NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n", "SET DEFAULT": "d",
}
